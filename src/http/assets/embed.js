/* gaprelay embed: turns each <script src="…/embed.js" data-gaprelay-form="SLUG">
   into the practice's form, framed from the relay's origin so that the host page's
   scripts never see what a patient types. Inline, or data-mode="popup" (a button and
   a <dialog>). Works async or deferred, with several tags; a bad tag is skipped. */
(() => {
  'use strict';

  // Styled through the CSSOM, not style attributes, which a host page's CSP may forbid.
  const make = (tag, styles) => {
    const el = document.createElement(tag);
    Object.assign(el.style, styles);
    return el;
  };

  function frameFor(tag, relay, slug) {
    const url = new URL('/f/' + encodeURIComponent(slug), relay);
    url.searchParams.set('embed', '1');
    if (/^https?:/.test(location.protocol)) {
      url.searchParams.set('parent', location.origin);
      url.searchParams.set('page', location.origin + location.pathname);
    }
    for (const [k, v] of new URLSearchParams(location.search)) {
      if (/^utm_(source|medium|campaign|term|content)$/.test(k) && v) url.searchParams.set(k, v.slice(0, 200));
    }
    const frame = make('iframe', { display: 'block', width: '100%', minHeight: '600px', border: '0' });
    frame.title = tag.dataset.title || 'Lab gap check';
    frame.src = url.href;

    // Only the frame we made, speaking from the relay's origin, is listened to.
    addEventListener('message', (e) => {
      const m = e.data;
      if (e.origin !== relay || e.source !== frame.contentWindow || !m || typeof m !== 'object') return;
      if (m.type === 'gaprelay:resize' && Number.isFinite(m.height)) {
        frame.style.height = Math.min(Math.max(Math.ceil(m.height), 100), 50000) + 'px';
      } else if (m.type === 'gaprelay:title' && typeof m.title === 'string' && !tag.dataset.title) {
        frame.title = m.title.slice(0, 200);
      } else if (m.type === 'gaprelay:submitted' && /^sub_[\w-]{1,100}$/.test(m.submission_id)) {
        // The id and the slug, nothing of the patient's: safe for analytics.
        frame.dispatchEvent(new CustomEvent('gaprelay:submitted', {
          bubbles: true,
          detail: { submissionId: m.submission_id, form: slug }
        }));
      }
    });
    return frame;
  }

  function popup(tag, relay, slug, anchor) {
    const button = make('button', {
      minHeight: '44px', padding: '10px 20px', font: 'inherit', cursor: 'pointer', maxWidth: '100%'
    });
    button.type = 'button';
    button.className = 'gaprelay-open';
    button.textContent = tag.dataset.buttonLabel || 'Check my labs';
    const dialog = make('dialog', {
      width: 'min(48rem, calc(100vw - 16px))', maxWidth: 'none', maxHeight: 'calc(100vh - 16px)',
      padding: '0', border: '0', borderRadius: '8px'
    });
    dialog.className = 'gaprelay-dialog';
    dialog.setAttribute('aria-label', tag.dataset.title || 'Lab gap check');
    const close = make('button', {
      display: 'block', position: 'sticky', top: '4px', margin: '4px 4px 0 auto', minHeight: '44px', padding: '8px 12px',
      font: 'inherit', cursor: 'pointer', background: '#fff', color: '#1f2328',
      border: '1px solid #6b7280', borderRadius: '6px'
    });
    close.type = 'button';
    close.textContent = 'Close';
    close.addEventListener('click', () => dialog.close());
    dialog.append(close);
    // Made on first opening (the host page stays light), then kept: closing loses nothing.
    let frame;
    button.addEventListener('click', () => {
      if (!frame) {
        frame = frameFor(tag, relay, slug);
        dialog.append(frame);
      }
      dialog.showModal();
    });
    // Escape closes it natively; focus returns to the button.
    dialog.addEventListener('close', () => button.focus());
    anchor.after(button, dialog);
  }

  function mount(tag) {
    const slug = tag.dataset.gaprelayForm || '';
    const relay = new URL(tag.src).origin;
    if (!/^[a-z0-9][a-z0-9-]{2,47}$/.test(slug) || relay === 'null') {
      throw new Error('gaprelay: bad data-gaprelay-form or src');
    }
    // A tag in <head> cannot hold visible content: use the end of <body> instead.
    let anchor = tag;
    if (tag.closest('head')) document.body.append((anchor = document.createElement('div')));
    if (tag.dataset.mode === 'popup') popup(tag, relay, slug, anchor);
    else anchor.after(frameFor(tag, relay, slug));
  }

  function scan() {
    for (const tag of document.querySelectorAll('script[data-gaprelay-form]:not([data-gaprelay-ready])')) {
      // A tag in <head> waits for the whole <body>.
      if (document.readyState === 'loading' && tag.closest('head')) continue;
      // Marked on the tag itself, so every copy of this script agrees on what is done.
      tag.setAttribute('data-gaprelay-ready', '');
      try {
        mount(tag);
      } catch (err) {
        console.warn(err.message || err);
      }
    }
  }

  window.GapRelay = window.GapRelay || { scan };
  // Now for the tags already parsed, and once the page is, for any others.
  scan();
  if (document.readyState === 'loading') document.addEventListener('DOMContentLoaded', scan);
})();
