/* gaprelay hosted form: sends the answers to the intake API, shows each problem beside
   its field, draws the report. Strict CSP: DOM built with createElement/textContent only. */
(() => {
'use strict';

const $ = (id) => document.getElementById(id);
const root = $('gaprelay');
const form = $('gr-form');
if (!root || !form) return;
const summary = $('gr-errors');
const report = $('gr-report');
const list = $('gr-lab-list');
const submit = form.querySelector('.gr-submit');
const data = root.dataset;
const parentOrigin = data.parentOrigin;
let startedAt = 0;
let sending = false;
// What was sent, in order: `labs[i]` / `symptoms[i]` in an answer lead back to it.
let sentLabs = [];
let sentSymptoms = [];
// Fields shown as invalid: {inputs, error (<p> beside them), item (summary <li>)}.
let marks = [];

// Builds an element; `ns` makes it SVG. Text always goes in as text nodes.
function el(tag, attrs, kids, ns) {
  const e = ns ? document.createElementNS('http://www.w3.org/2000/svg', tag) : document.createElement(tag);
  for (const k in attrs) if (attrs[k] != null) e.setAttribute(k, attrs[k]);
  e.append(...[].concat(kids ?? []).filter(Boolean));
  return e;
}
const isNum = (n) => typeof n === 'number' && isFinite(n);

// ---- Talking to the host page: only when the relay vouched for its origin ----

// Never '*': the page names the one origin it may talk to.
const tell = (msg) => parentOrigin && parent !== window && parent.postMessage(msg, parentOrigin);

if (parentOrigin) {
  tell({ type: 'gaprelay:title', title: `${data.practice} intake form` });
  let last = 0;
  let queued = false;
  // One message per frame at most, however much the layout moves.
  const onResize = () => {
    if (queued) return;
    queued = true;
    requestAnimationFrame(() => {
      queued = false;
      const h = Math.ceil(document.documentElement.getBoundingClientRect().height);
      if (h !== last) tell({ type: 'gaprelay:resize', height: (last = h) });
    });
  };
  new ResizeObserver(onResize).observe(document.documentElement);
}

// ---- Errors beside fields ----

const labelText = (input) => (input.labels?.[0]?.textContent || '').replace('(required)', '').trim();

// Adds or removes one id in aria-describedby, keeping the hints already there.
function describe(input, id, on) {
  const ids = (input.getAttribute('aria-describedby') || '').split(/\s+/).filter((x) => x && x !== id);
  if (on) ids.push(id);
  if (ids.length) input.setAttribute('aria-describedby', ids.join(' '));
  else input.removeAttribute('aria-describedby');
}

// Shows `text` in the error paragraph beside `input`, tied to it for screen readers.
function flag(input, error, text) {
  input.setAttribute('aria-invalid', 'true');
  describe(input, error.id, true);
  error.textContent = text;
  error.hidden = false;
  const m = { inputs: [input], error };
  marks.push(m);
  return m;
}

function unmark(m) {
  for (const i of m.inputs) {
    i.removeAttribute('aria-invalid');
    describe(i, m.error.id, false);
  }
  m.error.textContent = '';
  m.error.hidden = true;
  m.item?.remove();
  marks = marks.filter((x) => x !== m);
  if (!summary.querySelector('li')) summary.hidden = true;
}

function showSummary(kids, focus) {
  summary.textContent = '';
  summary.append(...kids);
  summary.hidden = false;
  (focus || summary).focus();
}

// An API field path → the input to flag, the error <p> beside it, the words naming it.
function locate(field) {
  let m = /^labs\[(\d+)\]\.(\w+)/.exec(field);
  if (m) {
    const row = sentLabs[m[1]];
    const value = row?.querySelector('input');
    const unit = row?.querySelector('select');
    return row && {
      input: m[2] === 'unit' ? unit : value, error: row.querySelector('.gr-error'),
      name: labelText(value), unit: unit.value, lab: m[2]
    };
  }
  if ((m = /^symptoms(\[(\d+)\])?$/.exec(field))) {
    const box = m[1] ? sentSymptoms[m[2]] : form.querySelector('[name="symptom"]');
    return box && { input: box, error: $('symptoms-error'), name: labelText(box) };
  }
  const id = /^(sex|age|consent)$/.test(field) ? 'gr-' + field : /^contact\.\w+$/.test(field) && field.replace('.', '-');
  const input = id && $(id);
  return input && { input, error: $(id.replace(/^gr-/, '') + '-error'), name: labelText(input) };
}

// An API problem in a patient's words. Problem texts never hold what was typed, so
// the fallback may show them as they are.
function friendly(field, p, t) {
  const name = t?.name;
  const lab = t?.lab;
  const say = (s) => `${name}: ${s}.`;
  if (/plausible/.test(p)) return say(`that value looks too high or too low for ${t?.unit} — check the number and the unit`);
  if (lab === 'unit') return say('choose the unit printed beside the value on your report');
  if (/thousands/.test(p)) return say('type the number without a thousands separator, e.g. 1234.5');
  if (lab === 'value') return say('type the number as printed on your report, e.g. 5.2, 5,2 or <0.5');
  if (lab) return say('remove this value and try again');
  if (field === 'consent') return 'Please tick the box to agree.';
  if (field === 'age') return say('type your age in whole years, e.g. 42');
  if (name) return `${name} ${p.replace(/\.$/, '')}.`;
  return `The form could not be sent (${field} ${p}). Please tell the practice.`;
}

function showProblems(details) {
  const items = [];
  let first;
  // In page order, so the summary reads like the form and focus goes to the top one.
  const at = (t) => (t?.input ? [...form.elements].indexOf(t.input) : 1e9);
  const found = details.map((d) => [String(d.field), String(d.problem), locate(String(d.field))]);
  for (const [field, problem, t] of found.sort((a, b) => at(a[2]) - at(b[2]))) {
    const text = friendly(field, problem, t);
    if (!t?.error || !t.input) {
      items.push(el('li', null, text));
      continue;
    }
    const m = marks.find((x) => x.error === t.error);
    if (m) {
      // Another problem for the same place (two symptoms): say both there.
      m.inputs.push(t.input);
      t.error.textContent += ' ' + text;
      describe(t.input, t.error.id, true);
      t.input.setAttribute('aria-invalid', 'true');
      continue;
    }
    const link = el('a', { href: '#' + t.input.id }, text);
    link.addEventListener('click', (e) => {
      e.preventDefault();
      t.input.focus();
    });
    items.push((flag(t.input, t.error, text).item = el('li', null, link)));
    first = first || t.input;
  }
  const n = items.length;
  showSummary([el('p', null, `Please check ${n === 1 ? 'this answer' : 'these answers'}:`), el('ul', null, items)], first);
}

// Editing a flagged field takes its error away, and its summary line with it.
function onEdit(e) {
  const row = e.target.closest('.gr-lab');
  const m = marks.find((x) => x.inputs.includes(e.target) || row?.contains(x.error) ||
    (e.target.name === 'symptom' && x.error.id === 'symptoms-error'));
  if (m) unmark(m);
}
form.addEventListener('input', onEdit);
form.addEventListener('change', onEdit);

// ---- "Add another marker" ----

let catalog = [];
try {
  catalog = JSON.parse($('gr-catalog').textContent);
} catch (e) { /* no catalog on this page: nothing to add */ }
const addInput = $('gr-add-input');
const addError = $('gr-add-error');

function addRow(c) {
  // The page's id rule (marker ids are lowercase already).
  const id = 'lab-' + c.id.replace(/[^a-z0-9_-]/g, '-');
  const about = c.about ? id + '-about' : null;
  const value = el('input', { id: id + '-value', type: 'text', inputmode: 'decimal', autocomplete: 'off', 'aria-describedby': about });
  const select = el('select', { id: id + '-unit' }, (c.units?.length ? c.units : [c.unit]).map((u) => {
    const o = el('option', { value: u }, u);
    o.selected = u === c.unit;
    return o;
  }));
  list.append(el('div', { class: 'gr-lab', 'data-marker': c.id, 'data-added': '' }, [
    el('label', { for: id + '-value' }, c.name),
    about && el('p', { class: 'gr-about', id: about }, c.about),
    el('div', { class: 'gr-lab-inputs' }, [value, el('label', { for: id + '-unit', class: 'gr-sr' }, c.name + ' unit'), select]),
    el('p', { class: 'gr-error', id: id + '-error', hidden: '' })
  ]));
  value.focus();
}

// Finds the marker by name, alias, id or LOINC code, whatever the case.
function onAdd() {
  const q = addInput.value.trim().replace(/\s+/g, ' ');
  const low = q.toLowerCase();
  const keys = (c) => [c.id, c.name, c.loinc, ...(c.aliases || [])].map((k) => String(k).toLowerCase());
  const c = q && catalog.find((x) => keys(x).includes(low));
  // A marker already on the form (listed, or added before) is only brought into focus.
  const there = [...list.children].find((r) => [c?.id, low].includes(r.dataset.marker) || labelText(r.querySelector('input')).toLowerCase() === low);
  marks.filter((m) => m.error === addError).forEach(unmark);
  if (!c && !there) {
    flag(addInput, addError, q ? `No marker called “${q}”: try the name on your report or its LOINC code.` : 'Type a marker’s name.');
    return addInput.focus();
  }
  addInput.value = '';
  if (there) there.querySelector('input').focus();
  else addRow(c);
}

if (addInput && addError) {
  $('gr-add-button').addEventListener('click', onAdd);
  addInput.addEventListener('keydown', (e) => {
    // Enter here means "add this marker", not "send the whole form".
    if (e.key === 'Enter') {
      e.preventDefault();
      onAdd();
    }
  });
}

// ---- Collecting and sending ----

function collect() {
  const body = { contact: {} };
  for (const k of ['name', 'email', 'phone']) {
    const v = $('contact-' + k)?.value;
    if (v?.trim()) body.contact[k] = v;
  }
  const sex = $('gr-sex')?.value;
  if (sex) body.sex = sex;
  const age = $('gr-age')?.value || '';
  // A number when it is one; otherwise the text as typed, so the API names the field.
  if (age.trim()) body.age = /^\s*\d{1,3}\s*$/.test(age) ? +age : age;
  sentLabs = [...list.querySelectorAll('.gr-lab')].filter((r) => r.querySelector('input').value.trim());
  // The value goes as typed: the API reads "5,2", " 5.2 ", "<0.5" and the like.
  body.labs = sentLabs.map((r) => ({ marker: r.dataset.marker, value: r.querySelector('input').value, unit: r.querySelector('select').value }));
  sentSymptoms = [...form.querySelectorAll('[name="symptom"]:checked')];
  body.symptoms = sentSymptoms.map((b) => b.value);
  const consent = $('gr-consent');
  if (consent) body.consent = consent.checked;
  body.engagement = { time_on_tool_s: startedAt ? Math.round((performance.now() - startedAt) / 1e3) : 0 };
  // The relay checked both; its utm object already has the API's keys (source, …).
  const source = { page_url: data.page };
  try {
    source.utm = JSON.parse(data.utm);
  } catch (e) { /* absent or broken: only the lead source is lost */ }
  if (data.page || source.utm) body.source = source;
  if (data.formToken) body.form_token = data.formToken;
  body.honeypot = $('gr-website')?.value || '';
  return body;
}

const submitLabel = submit.textContent;
function busy(on) {
  sending = submit.disabled = on;
  submit.textContent = on ? 'Sending…' : submitLabel;
}

form.addEventListener('submit', async (e) => {
  e.preventDefault();
  // The disabled button stops clicks; this also stops Enter and scripted submits.
  if (sending) return;
  marks.slice().forEach(unmark);
  summary.hidden = true;
  const body = collect();
  busy(true);
  const say = (text) => showSummary([el('p', null, text)]);
  let res;
  try {
    res = await fetch(data.intake, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json', Accept: 'application/json' },
      body: JSON.stringify(body),
      credentials: 'omit',
      cache: 'no-store'
    });
    const json = (await res.json().catch(() => 0)) || {};
    busy(false);
    if (res.ok) done(json);
    else if (json.error?.details?.length) showProblems(json.error.details);
    else say(res.status === 429 ? 'Too many tries. Please wait a minute and try again.'
      : /403|404|503/.test(res.status) ? 'The practice is not taking submissions right now.'
        : 'Could not send, please try again.');
  } catch (err) {
    // Never a blank screen: the network failed, or a report could not be drawn.
    busy(false);
    report.hidden = true;
    form.hidden = false;
    say(res?.ok ? 'Your answers were sent, but the report could not be shown here.'
      : 'Could not reach the practice. Check your connection and try again.');
  }
});

// Monotonic time from the first move, not page load: an embedded form may sit unseen.
form.addEventListener('focusin', () => (startedAt = startedAt || performance.now()));

// ---- The drawn report ----

// Icon, words, default message per zone: never colour alone.
const NEAR = 'Outside the optimal range; worth discussing with your practitioner.';
const FAR = 'Please discuss this result with your practitioner.';
const ZONES = {
  optimal: ['✓', 'Optimal', 'Within your practitioner’s optimal range.'],
  below_optimal: ['↓', 'Below optimal', NEAR],
  above_optimal: ['↑', 'Above optimal', NEAR],
  below_standard: ['⚠', 'Below the standard range', FAR],
  above_standard: ['⚠', 'Above the standard range', FAR]
};
// Named as on the page.
const SYSTEMS = {
  thyroid: 'Thyroid', adrenal: 'Stress and adrenals', blood_sugar: 'Blood sugar', iron: 'Iron', gut: 'Digestion',
  sex_hormones: 'Sex hormones', inflammation: 'Inflammation', nutrients: 'Vitamins and minerals', immune: 'Immune system',
  neuro: 'Sleep, mood and focus', lipids: 'Cholesterol and fats', liver: 'Liver', kidney: 'Kidneys', blood: 'Blood cells'
};

const decimals = (n) => (isNum(n) ? (String(n).split('.')[1] || '').length : 0);

// Rounds like a lab prints: the decimals of the range bounds (at most 2) but never
// under 2 significant digits, and without padding zeros ("3.1", "28", "0.004").
function labRound(v, lab) {
  if (!isNum(v)) return '';
  let d = 0;
  for (const b of [lab.standard, lab.optimal]) d = Math.max(d, decimals(b?.low), decimals(b?.high));
  d = Math.min(d, 2);
  if (v) d = Math.max(d, 1 - Math.floor(Math.log10(Math.abs(v))));
  return String(+v.toFixed(Math.min(d, 6)));
}

function rangeText(b) {
  if (!isNum(b?.low)) return isNum(b?.high) ? 'up to ' + b.high : '';
  return isNum(b.high) ? b.low + '–' + b.high : 'from ' + b.low;
}

// The zone in words for the bar's accessible name.
function zoneWords(lab) {
  const o = `your practitioner’s optimal range (${rangeText(lab.optimal)})`;
  const s = rangeText(lab.standard) && `the standard range (${rangeText(lab.standard)})`;
  const side = /below/.test(lab.zone) ? 'below ' : 'above ';
  if (lab.zone === 'optimal') return 'within ' + o + (s ? ', and ' + s : '');
  if (/optimal/.test(lab.zone)) return side + o + (s ? ', within ' + s : '');
  return side + s + ' and ' + o;
}

// The range bar: the standard band, the optimal band and a dot at the value, on a
// scale set by the ranges alone (so bars compare at a glance; a value off the scale
// sits at its edge, and an open end runs to the edge). Percent lengths fit any width.
function bar(lab, label) {
  const s = lab.standard || {};
  const o = lab.optimal || {};
  const v = lab.value;
  const bounds = [s.low, s.high, o.low, o.high].filter(isNum);
  if (!bounds.length) bounds.push(isNum(v) ? v : 0);
  let lo = Math.min(...bounds);
  let hi = Math.max(...bounds);
  const span = hi - lo || Math.abs(hi) || 1;
  lo -= span * 0.4;
  hi += span * 0.4;
  if (bounds.every((b) => b >= 0)) lo = Math.max(lo, 0);
  const pct = (x, edge) => (isNum(x) ? Math.max(0, Math.min(100, ((x - lo) / (hi - lo)) * 100)) : edge);
  const rect = (cls, b, y, h) => el('rect', { class: cls, x: pct(b.low, 0) + '%', width: pct(b.high, 100) - pct(b.low, 0) + '%', y, height: h, rx: 3 }, null, 1);
  const x = pct(v, 50) + '%';
  return el('svg', { class: 'gr-bar', role: 'img', 'aria-label': label, width: '100%', height: 36 }, [
    rect('gr-bar-track', {}, 12, 12),
    lab.standard && rect('gr-bar-std', s, 12, 12),
    lab.optimal && rect('gr-bar-opt', o, 9, 18),
    isNum(v) && el('line', { class: 'gr-bar-tick', x1: x, x2: x, y1: 1, y2: 35 }, null, 1),
    isNum(v) && el('circle', { class: 'gr-bar-dot', cx: x, cy: 18, r: 7 }, null, 1)
  ], 1);
}

function drawLab(lab) {
  const z = ZONES[lab.zone] || ['•', lab.zone, ''];
  const input = lab.input || {};
  const q = input.qualifier || '';
  const unit = input.unit || lab.unit;
  const inRange = labRound(lab.value, lab);
  const qWords = { '<': 'less than ', '>': 'more than ' }[q] || '';
  const std = rangeText(lab.standard);
  // The report's explanation, else the form's own line on the marker.
  const about = lab.about || $(`lab-${lab.marker}-about`)?.textContent;
  return el('li', { class: 'gr-result gr-z-' + lab.zone }, [
    el('h4', null, lab.name),
    el('p', { class: 'gr-zone' }, [el('span', { 'aria-hidden': 'true' }, z[0] + ' '), z[1]]),
    // As the patient typed it (in their unit), then in the range's unit if it differs.
    el('p', { class: 'gr-value' }, [
      el('strong', null, q + (isNum(input.value) ? input.value : inRange) + ' ' + unit),
      unit !== lab.unit ? ` (${q}${inRange} ${lab.unit})` : null
    ]),
    bar(lab, `${lab.name} ${qWords}${inRange} ${lab.unit}: ${zoneWords(lab)}`),
    el('p', { class: 'gr-ranges' }, [
      // Each carries a swatch (CSS ::before) matching its band.
      el('span', { class: 'gr-key-opt' }, `Optimal ${rangeText(lab.optimal)} ${lab.unit}`),
      std && el('span', { class: 'gr-key-std' }, `Standard ${std} ${lab.unit}`)
    ]),
    el('p', null, lab.message || z[2]),
    about && el('p', { class: 'gr-about' }, about)
  ]);
}

function drawReport(r) {
  const labs = r.labs || [];
  const symptoms = r.symptoms || [];
  const names = {};
  for (const l of labs) names[l.marker] = l.name;
  for (const s of symptoms) names['s:' + s.id] = s.name;
  const n = labs.length;
  const out = labs.filter((l) => l.zone !== 'optimal').length;
  const far = labs.filter((l) => /standard/.test(l.zone)).length;
  const h3 = (text) => el('h3', null, text);
  const rd = report.dataset;
  const ul = (cls, items) => el('ul', { class: cls }, items);
  const parts = [
    el('h2', { id: 'gr-report-title' }, 'Your gap report'),
    rd.disclaimer && el('p', { class: 'gr-note' }, rd.disclaimer),
    n && el('p', null, `${out} of ${n} results outside your practitioner’s optimal range` + (far ? `, ${far} outside the standard range too.` : '.'))
  ];
  if (n) parts.push(h3('Your results'), ul('gr-results', labs.map(drawLab)));
  const systems = (r.summary?.systems || []).filter((s) => s.attention > 0);
  if (systems.length) {
    parts.push(h3('Where your answers point'), ul('gr-systems', systems.map((s) => {
      const what = [...(s.markers || []), ...(s.symptoms || []).map((x) => 's:' + x)].map((k) => names[k] || k);
      return el('li', null, [el('strong', null, SYSTEMS[s.system] || s.system), ': ' + what.join(', ')]);
    })));
  }
  if (symptoms.length) parts.push(h3('Symptoms you noted'), ul('gr-symptom-list', symptoms.map((s) => el('li', null, s.name))));
  const button = (text, cls, fn) => {
    const b = el('button', { type: 'button', class: cls }, text);
    b.addEventListener('click', fn);
    return b;
  };
  parts.push(el('div', { class: 'gr-actions' }, [
    // A new tab keeps the report open: nothing is stored, so leaving would lose it.
    /^https?:\/\//i.test(rd.ctaUrl) ? el('a', { class: 'gr-cta', href: rd.ctaUrl, target: '_blank', rel: 'noopener' }, [
      rd.ctaLabel || 'Book a consultation', el('span', { class: 'gr-sr' }, ' (opens in a new tab)')
    ]) : null,
    button('Print / save as PDF', 'gr-print', () => window.print()),
    button('Start over', 'gr-again', startOver)
  ]));
  report.textContent = '';
  report.append(...parts.filter(Boolean));
}

function done(json) {
  drawReport(json.report || {});
  form.hidden = true;
  report.hidden = false;
  report.focus();
  if (typeof json.submission_id === 'string') tell({ type: 'gaprelay:submitted', submission_id: json.submission_id });
}

// Forgets everything: the answers lived only in this page.
function startOver() {
  report.textContent = '';
  report.hidden = true;
  marks.slice().forEach(unmark);
  summary.hidden = true;
  for (const r of list.querySelectorAll('[data-added]')) r.remove();
  form.reset();
  sentLabs = sentSymptoms = [];
  startedAt = 0;
  form.hidden = false;
  form.querySelector('input:not([tabindex="-1"]), select')?.focus();
}
})();
