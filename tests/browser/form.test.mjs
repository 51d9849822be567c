// Browser tests of the patient form, run by tests/api/browser.rs (under `make test`) against
// a live relay, a practice's page on another origin and a page on an origin the practice
// did not allow. Node's own test runner; playwright-core drives Debian's Chromium (never a
// downloaded browser); axe-core checks the WCAG 2.2 A/AA rules. One browser for all tests;
// every wait is on a selector, a navigation or an event, never on the clock.
//
// Environment: RELAY_URL, HOST_URL, FOREIGN_HOST_URL, SLUG, PRACTICE_NAME, CHROMIUM_BIN,
// SCREENSHOT_DIR, RESULT_FILE (optional: where the submission id of the embedded form is
// written for the Rust side, which checks the webhook).

import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import path from 'node:path';
import { chromium } from 'playwright-core';

function setting(name) {
  const value = process.env[name];
  if (!value) {
    throw new Error(`${name} is not set (tests/api/browser.rs sets it; run \`make test\`)`);
  }
  return value;
}

const RELAY_URL = setting('RELAY_URL').replace(/\/$/, '');
const HOST_URL = setting('HOST_URL');
const FOREIGN_HOST_URL = setting('FOREIGN_HOST_URL');
const SLUG = setting('SLUG');
const PRACTICE_NAME = setting('PRACTICE_NAME');
const CHROMIUM_BIN = setting('CHROMIUM_BIN');
const SCREENSHOT_DIR = setting('SCREENSHOT_DIR');
const RESULT_FILE = process.env.RESULT_FILE;

const RELAY_ORIGIN = new URL(RELAY_URL).origin;
const HOST_ORIGIN = new URL(HOST_URL).origin;
const FOREIGN_ORIGIN = new URL(FOREIGN_HOST_URL).origin;
const HOSTED_URL = `${RELAY_URL}/f/${encodeURIComponent(SLUG)}`;

const AXE_SOURCE = await readFile(
  createRequire(import.meta.url).resolve('axe-core/axe.min.js'),
  'utf8',
);
const AXE_TAGS = ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa', 'wcag22aa'];

// What the patient types. The canaries must never reach the practice's page.
const PATIENT = {
  name: 'Zelda Canaryname',
  email: 'zelda.canary@example.com',
  phone: '+44 20 7946 0958',
};
const WRONG_TSH = 'abc';
const TSH = '2,5';
// More results, for a fuller report in the README's pictures (filled when the form lists
// them), in the starter panel's order since the keyboard test only tabs forward.
const MORE_LABS = [
  ['hba1c', '5,6'],
  ['vitamin_d_25oh', '28'],
  ['ferritin', '45'],
];
// The call to action tests/api/browser.rs sets for the practice.
const CTA = { label: 'Book a consultation', url: 'https://harbourlane.example/book' };
const CANARIES = ['Canaryname', 'zelda.canary', '7946', TSH];

// Chromium's own background traffic (component updates, sync, other background fetches) is
// off: only the pages' requests remain, and the machines' network is closed anyway.
const CHROMIUM_ARGS = [
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--disable-default-apps',
];

let browser;
const strayRequests = []; // requests to a host other than the relay and the page's own
const pageProblems = []; // CSP violations and uncaught errors in our pages
const axeResults = {}; // state -> violations
// Failed requests, error answers and console errors (the foreign page's refusal among them),
// printed at the end to explain a failure.
const diagnostics = [];
const result = {};
const started = performance.now();
/** Seconds since the run began, for the diagnostics' timeline. */
const at = () => `[${((performance.now() - started) / 1e3).toFixed(2)} s]`;
const embedded = {}; // the host page's context, page and form frame, shared by the tests

before(async () => {
  await mkdir(SCREENSHOT_DIR, { recursive: true });
  browser = await chromium.launch({
    executablePath: CHROMIUM_BIN,
    headless: true,
    args: CHROMIUM_ARGS,
  });
});

after(async () => {
  await browser?.close();
  if (diagnostics.length > 0) {
    console.error(`What the browser saw:\n  ${diagnostics.join('\n  ')}`);
  }
  if (RESULT_FILE) {
    await writeFile(RESULT_FILE, JSON.stringify(result));
  }
});

/**
 * A fresh context (no cookies, no storage) whose every request, frames included, must go
 * to one of `origins`. With `watchConsole`, a CSP violation or an uncaught error is a
 * problem (the foreign page's refusal is expected to log one, so it does not watch).
 */
async function openPage(label, origins, contextOptions = {}, watchConsole = true) {
  const context = await browser.newContext({
    viewport: { width: 1024, height: 800 },
    ...contextOptions,
  });
  context.setDefaultTimeout(15_000);
  context.on('request', (request) => {
    const url = new URL(request.url());
    if (['data:', 'blob:', 'about:'].includes(url.protocol)) return;
    if (!origins.includes(url.origin)) strayRequests.push(`${label}: ${request.url()}`);
  });
  context.on('requestfailed', (request) =>
    diagnostics.push(`${at()} ${label}: ${request.url()} failed: ${request.failure()?.errorText}`),
  );
  // Every submission's journey, timed, so that one left unanswered shows when it left.
  context.on('request', (request) => {
    if (request.method() === 'POST') diagnostics.push(`${at()} ${label}: POST ${request.url()} sent`);
  });
  context.on('response', (response) => {
    if (response.status() >= 400 || response.request().method() === 'POST') {
      diagnostics.push(`${at()} ${label}: ${response.url()} answered ${response.status()}`);
    }
  });
  const page = await context.newPage();
  page.on('console', (message) => {
    if (message.type() === 'error') diagnostics.push(`${label}: console: ${message.text()}`);
  });
  if (watchConsole) {
    page.on('console', (message) => {
      if (/Content[- ]Security[- ]Policy|Refused to/i.test(message.text())) {
        pageProblems.push(`${label}: ${message.text()}`);
      }
    });
    page.on('pageerror', (error) => pageProblems.push(`${label}: uncaught ${error.message}`));
  }
  return { context, page };
}

/** Runs axe-core in `frame` (injected there once: the form lives on the relay's origin). */
async function axe(frame) {
  const loaded = await frame.evaluate(() => typeof window.axe === 'object');
  if (!loaded) await frame.evaluate(AXE_SOURCE);
  return frame.evaluate(async (tags) => {
    const run = await window.axe.run(document, {
      runOnly: { type: 'tag', values: tags },
      resultTypes: ['violations'],
    });
    return run.violations.map((v) => ({
      id: v.id,
      impact: v.impact,
      help: v.help,
      nodes: v.nodes.map((n) => ({ target: n.target.join(' '), summary: n.failureSummary })),
    }));
  }, AXE_TAGS);
}

/** Fills the contact fields the form shows, ticks a symptom and the consent. */
async function fillTheRest(frame, moreLabs = false) {
  for (const [marker, value] of moreLabs ? MORE_LABS : []) {
    const input = frame.locator(`#lab-${marker}-value`);
    if (await input.count()) await input.fill(value);
  }
  await frame.locator('#contact-name').fill(PATIENT.name);
  await frame.locator('#contact-email').fill(PATIENT.email);
  if (await frame.locator('#contact-phone').count()) {
    await frame.locator('#contact-phone').fill(PATIENT.phone);
  }
  await frame.locator('input[name="symptom"]').first().check();
  if (await frame.locator('#gr-consent').count()) {
    await frame.locator('#gr-consent').check();
  }
}

/** Asserts the TSH field shows its error the accessible way and holds the focus. */
async function expectTshError(frame) {
  const input = frame.locator('#lab-tsh-value');
  await frame.locator('#lab-tsh-value[aria-invalid="true"]').waitFor();
  const error = frame.locator('#lab-tsh-error');
  await error.waitFor({ state: 'visible' });
  const words = (await error.innerText()).trim();
  assert.ok(words.length > 0, 'the error beside TSH is empty');
  assert.doesNotMatch(words, /labs\[\d+\]/, `the error names a JSON path: ${words}`);
  const describedBy = ((await input.getAttribute('aria-describedby')) ?? '').split(/\s+/);
  assert.ok(
    describedBy.includes('lab-tsh-error'),
    `aria-describedby="${describedBy.join(' ')}" does not reference lab-tsh-error`,
  );
  const focused = await frame.evaluate(() => document.activeElement?.id);
  assert.equal(focused, 'lab-tsh-value', 'focus is not on the first invalid field');
  const invalid = await frame.locator('[aria-invalid="true"]').evaluateAll((els) =>
    els.map((el) => el.id),
  );
  assert.deepEqual(invalid, ['lab-tsh-value'], 'only the TSH field is wrong');
  assert.equal(
    await frame.locator('#gr-errors a[href="#lab-tsh-value"]').count(),
    1,
    'the error summary links to the TSH field',
  );
  return words;
}

/** Waits for the drawn report and asserts its TSH range bar says the zone in words. */
async function expectReport(frame) {
  try {
    await frame.locator('#gr-report').waitFor({ state: 'visible' });
  } catch (error) {
    // Say what the patient sees instead: still sending, or a message in the summary.
    const state = await frame
      .evaluate(() => ({
        button: document.querySelector('.gr-submit')?.textContent,
        disabled: document.querySelector('.gr-submit')?.disabled,
        summary: document.querySelector('#gr-errors')?.hidden ? null : document.querySelector('#gr-errors')?.textContent,
        formHidden: document.querySelector('#gr-form')?.hidden,
      }))
      .catch((e) => `unreadable: ${e.message}`);
    error.message += `\nThe form instead: ${JSON.stringify(state)}`;
    throw error;
  }
  const bars = frame.locator('#gr-report svg[role="img"][aria-label*="TSH"]');
  await bars.first().waitFor();
  assert.equal(await bars.count(), 1, 'one range bar for TSH');
  const label = await bars.first().getAttribute('aria-label');
  assert.match(label, /2[.,]5/, `the bar's name lacks the value: ${label}`);
  assert.match(label, /mIU\/L/, `the bar's name lacks the unit: ${label}`);
  assert.match(
    label,
    /\b(above|below|within|inside|outside|in)\b[^:]*\boptimal\b/i,
    `the bar's name does not say the zone in words: ${label}`,
  );
  assert.ok(await frame.locator('#gr-form').isHidden(), 'the form is still shown');
  const inReport = await frame.evaluate(
    () => document.activeElement?.closest('#gr-report') !== null,
  );
  assert.ok(inReport, 'focus did not move to the report');
  const cta = frame.locator(`#gr-report a[href="${CTA.url}"]`);
  assert.equal(await cta.count(), 1, "the report has no link to the practice's call to action");
  assert.match(await cta.innerText(), new RegExp(CTA.label), 'the call to action is not labelled');
  return label;
}

/** Presses Tab until the focused element matches `selector` (keyboard only). */
async function tabTo(page, selector, limit = 300) {
  for (let i = 0; i < limit; i += 1) {
    await page.keyboard.press('Tab');
    const there = await page.evaluate(
      (sel) => document.activeElement?.matches(sel) ?? false,
      selector,
    );
    if (there) return;
  }
  assert.fail(`Tab never reached ${selector} in ${limit} presses`);
}

/** At 360 px: no sideways scrolling and every visible control at least 24 × 24 px. */
async function expectPhoneLayout(page, state) {
  await page.setViewportSize({ width: 360, height: 740 });
  const box = await page.evaluate(() => ({
    scrollWidth: document.documentElement.scrollWidth,
    clientWidth: document.documentElement.clientWidth,
  }));
  assert.equal(box.clientWidth, 360, `${state}: the page is not laid out for a 360 px phone`);
  assert.ok(
    box.scrollWidth <= box.clientWidth,
    `${state}: scrolls sideways at 360 px (scrollWidth ${box.scrollWidth})`,
  );
  const small = await page.evaluate(() =>
    [...document.querySelectorAll('input:not([type="hidden"]), select, textarea, button')]
      .filter(
        (el) =>
          !el.closest('[aria-hidden="true"], [hidden]') &&
          el.checkVisibility({ checkOpacity: true, checkVisibilityCSS: true }),
      )
      .map((el) => {
        const r = el.getBoundingClientRect();
        const name = el.id ? `#${el.id}` : `${el.tagName.toLowerCase()}.${el.className}`;
        return { name, width: Math.round(r.width), height: Math.round(r.height) };
      })
      .filter((b) => b.width < 24 || b.height < 24),
  );
  assert.equal(
    small.length,
    0,
    `${state}: touch targets under 24 × 24 px: ${JSON.stringify(small)}`,
  );
}

/**
 * A screenshot 390 px wide (a common phone) for the README: what the phone's screen
 * shows (the form is long; its top and the field in error are what matter), or the
 * whole page (the report, which the README shows in full).
 */
async function screenshot(page, file, { fullPage = false } = {}) {
  await page.setViewportSize({ width: 390, height: 844 });
  // The pointer rests where the last click was, which may now be over a button of
  // the report: moved away, and transitions finished, the picture is the same on
  // every run, so `make test` leaves the committed screenshots unchanged.
  await page.mouse.move(0, 0);
  await page.screenshot({ path: path.join(SCREENSHOT_DIR, file), fullPage, animations: 'disabled' });
}

test('a host page on another origin embeds the form with its one script line', async () => {
  Object.assign(embedded, await openPage('embedded', [RELAY_ORIGIN, HOST_ORIGIN]));
  const { page } = embedded;
  await page.goto(HOST_URL);
  const iframe = page.locator('iframe');
  await iframe.waitFor();
  assert.equal(await iframe.count(), 1, 'one iframe');
  const next = await page.evaluate(
    () => document.querySelector('script[data-gaprelay-form]')?.nextElementSibling?.tagName,
  );
  assert.equal(next, 'IFRAME', 'the iframe stands where the script tag is');
  // The page posts its real title once loaded.
  await page.waitForFunction(
    (name) => document.querySelector('iframe')?.title.includes(name),
    PRACTICE_NAME,
  );
  embedded.frame = await (await iframe.elementHandle()).contentFrame();
  await embedded.frame.locator('#gr-form').waitFor();
  assert.equal(new URL(embedded.frame.url()).origin, RELAY_ORIGIN);
  // The patient's fields live only in the frame, on the relay's origin (locators also
  // look inside open shadow roots).
  assert.equal(
    await page.locator('input, select, textarea, form, [contenteditable]').count(),
    0,
    "the host page's DOM holds a form field",
  );
  const readable = await page.evaluate(() => document.querySelector('iframe').contentDocument);
  assert.equal(readable, null, "the host page can read the frame's document");
  axeResults.empty = await axe(embedded.frame);
});

test('a wrong lab value is shown beside its field and the focus moves to it', async () => {
  const { frame } = embedded;
  assert.ok(frame, 'the form was not embedded');
  await frame.locator('#lab-tsh-value').fill(WRONG_TSH);
  await fillTheRest(frame);
  await frame.locator('.gr-submit').click();
  await expectTshError(frame);
  axeResults.errors = await axe(frame);
});

test('the value corrected with a decimal comma is accepted and the report is drawn', async () => {
  const { frame } = embedded;
  assert.ok(frame, 'the form was not embedded');
  await frame.locator('#lab-tsh-value').fill(TSH);
  // Sent with Enter from the corrected field, as a patient may (the first try clicked
  // the button). Keys go to the focused frame, whereas a click into a cross-origin
  // frame is routed by where the browser last drew it, and this frame has just changed
  // size (its error summary went away): a click here went unanswered, now and then,
  // under a loaded machine (the timeline printed below says whether a POST left).
  await frame.locator('#lab-tsh-value').press('Enter');
  await expectReport(frame);
  axeResults.report = await axe(frame);
});

test('the host page hears one gaprelay:submitted event that carries no patient data', async () => {
  const { page } = embedded;
  assert.ok(page, 'the host page was not opened');
  await page.locator('#events:not([data-count="0"])').waitFor({ state: 'attached' });
  const events = JSON.parse(await page.locator('#events').textContent());
  assert.equal(events.length, 1, `events: ${JSON.stringify(events)}`);
  const [detail] = events;
  assert.match(String(detail.submissionId), /^sub_[A-Za-z0-9_-]+$/);
  const extra = Object.keys(detail).filter((k) => !['submissionId', 'form'].includes(k));
  assert.deepEqual(extra, [], `the event's detail carries more: ${JSON.stringify(detail)}`);
  if ('form' in detail) assert.equal(detail.form, SLUG);
  const html = await page.evaluate(() => document.documentElement.outerHTML);
  for (const canary of CANARIES) {
    assert.ok(!html.includes(canary), `the host page's DOM holds "${canary}"`);
    assert.ok(!JSON.stringify(detail).includes(canary), `the event holds "${canary}"`);
  }
  result.embeddedSubmissionId = detail.submissionId;
});

test('axe finds no WCAG 2.2 A/AA violation on the empty form, the errors and the report', () => {
  for (const state of ['empty', 'errors', 'report']) {
    assert.ok(state in axeResults, `the ${state} state was not reached`);
    assert.equal(
      axeResults[state].length,
      0,
      `axe violations on the ${state} form:\n${JSON.stringify(axeResults[state], null, 2)}`,
    );
  }
});

test('the whole flow completes with the keyboard alone', async () => {
  const { context, page } = await openPage('keyboard', [RELAY_ORIGIN], {
    viewport: { width: 1024, height: 768 },
  });
  try {
    await page.goto(HOSTED_URL);
    await page.locator('#gr-form').waitFor();
    await tabTo(page, '#lab-tsh-value');
    await page.keyboard.type(TSH);
    for (const [marker, value] of MORE_LABS) {
      if (await page.locator(`#lab-${marker}-value`).count()) {
        await tabTo(page, `#lab-${marker}-value`);
        await page.keyboard.type(value);
      }
    }
    await tabTo(page, 'input[name="symptom"]');
    await page.keyboard.press('Space');
    assert.ok(await page.locator('input[name="symptom"]').first().isChecked());
    await tabTo(page, '#contact-name');
    await page.keyboard.type(PATIENT.name);
    await tabTo(page, '#contact-email');
    await page.keyboard.type(PATIENT.email);
    if (await page.locator('#gr-consent').count()) {
      await tabTo(page, '#gr-consent');
      await page.keyboard.press('Space');
      assert.ok(await page.locator('#gr-consent').isChecked());
    }
    await tabTo(page, '.gr-submit');
    await page.keyboard.press('Enter');
    await expectReport(page.mainFrame());
    await page.screenshot({
      path: path.join(SCREENSHOT_DIR, 'report-desktop.png'),
      fullPage: true,
    });
  } finally {
    await context.close();
  }
});

test('at 360 px nothing scrolls sideways and every control is at least 24 px', async () => {
  const { context, page } = await openPage('phone', [RELAY_ORIGIN], {
    viewport: { width: 360, height: 740 },
    deviceScaleFactor: 1,
    isMobile: true,
    hasTouch: true,
  });
  try {
    await page.goto(HOSTED_URL);
    await page.locator('#gr-form').waitFor();
    await expectPhoneLayout(page, 'empty form');
    await screenshot(page, 'form-empty.png');

    await page.locator('#lab-tsh-value').fill(WRONG_TSH);
    await fillTheRest(page.mainFrame(), true);
    await page.locator('.gr-submit').click();
    await expectTshError(page.mainFrame());
    await expectPhoneLayout(page, 'form with errors');
    await screenshot(page, 'form-errors.png');

    await page.locator('#lab-tsh-value').fill(TSH);
    await page.locator('.gr-submit').click();
    await expectReport(page.mainFrame());
    await expectPhoneLayout(page, 'report');
    await screenshot(page, 'report.png', { fullPage: true });
  } finally {
    await context.close();
  }
});

test('a page on an origin the practice did not allow cannot frame the form', async () => {
  const { context, page } = await openPage(
    'foreign',
    [RELAY_ORIGIN, FOREIGN_ORIGIN],
    {},
    false,
  );
  const messages = [];
  page.on('console', (message) => messages.push(message.text()));
  try {
    const answered = page.waitForResponse((r) => r.url().startsWith(`${HOSTED_URL}?`));
    await page.goto(FOREIGN_HOST_URL);
    // The relay answers; it is the browser that refuses to show the answer in the frame.
    const response = await answered;
    const csp = (await response.allHeaders())['content-security-policy'] ?? '';
    assert.match(csp, /frame-ancestors/, `CSP: ${csp}`);
    assert.ok(!csp.includes(FOREIGN_ORIGIN), `the foreign origin may frame the form: ${csp}`);
    const frame = await (await page.locator('iframe').elementHandle()).contentFrame();
    await frame.waitForURL((url) => url.href !== 'about:blank');
    await frame.waitForLoadState('load');
    assert.ok(
      frame.url().startsWith('chrome-error://'),
      `the frame shows ${frame.url()}; console: ${messages.join(' | ')}`,
    );
    assert.equal(await frame.locator('#gr-form').count(), 0, 'the form rendered in the frame');
  } finally {
    await context.close();
  }
});

test('no request leaves for a third host and no page breaks its CSP', () => {
  assert.deepEqual(strayRequests, [], 'requests to a third host');
  assert.deepEqual(pageProblems, [], 'CSP violations or uncaught errors');
});
