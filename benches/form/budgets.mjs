#!/usr/bin/env node
// Budgets of the patient form, checked against a running release build of gaprelay:
//   1. page weight: everything the relay sends before the patient submits (the hosted page
//      /f/demo, the script and stylesheet it links, /embed.js), raw and gzip-compressed as
//      sent; the compressed total must stay within 50 KiB;
//   2. Lighthouse 12.2.3 (pinned in package-lock.json) on the hosted page with its default
//      mobile profile in Debian's headless Chromium: performance >= 95, accessibility 100,
//      best practices 100.
// The figures are written between the form-budgets markers of docs/performance.md (the
// rest of that file is left as it is). Exits 1 when a budget is missed, 2 when it cannot
// measure. Builds nothing: `make bench` runs `cargo build --release` first.
//
// Environment: GAPRELAY_BIN (default target/release/gaprelay), CHROME_PATH (default
// /usr/bin/chromium), FORM_BENCH_DOCS=0 to leave docs/performance.md alone.

import { spawn, spawnSync } from "node:child_process";
import fs from "node:fs";
import http from "node:http";
import net from "node:net";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import zlib from "node:zlib";

const HERE = path.dirname(fileURLToPath(import.meta.url));
const ROOT = path.resolve(HERE, "../..");
const BIN = path.resolve(ROOT, process.env.GAPRELAY_BIN ?? "target/release/gaprelay");
const CHROME = process.env.CHROME_PATH ?? "/usr/bin/chromium";
const DOCS = path.join(ROOT, "docs/performance.md");
const START = "<!-- form-budgets:start -->";
const END = "<!-- form-budgets:end -->";

const WEIGHT_BUDGET = 50 * 1024;
const SCORE_BUDGETS = [
  ["performance", "performance", 95],
  ["accessibility", "accessibility", 100],
  ["best-practices", "best practices", 100],
];
/// The simulated lab metrics reported next to the performance score.
const METRICS = [
  ["first-contentful-paint", "First Contentful Paint"],
  ["largest-contentful-paint", "Largest Contentful Paint"],
  ["total-blocking-time", "Total Blocking Time"],
  ["cumulative-layout-shift", "Cumulative Layout Shift"],
  ["speed-index", "Speed Index"],
];

class SetupError extends Error {}

// ---------------------------------------------------------------- the relay under test

const work = fs.mkdtempSync(path.join(os.tmpdir(), "gaprelay-form-bench-"));
let relay = null;

function cleanup() {
  if (relay && relay.exitCode === null && relay.signalCode === null) relay.kill("SIGTERM");
  relay = null;
  fs.rmSync(work, { recursive: true, force: true });
}
process.on("exit", cleanup);
for (const signal of ["SIGINT", "SIGTERM", "SIGHUP"]) {
  process.on(signal, () => process.exit(130));
}

function freePort() {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.unref();
    server.on("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const { port } = server.address();
      server.close(() => resolve(port));
    });
  });
}

/// GET `url`, keeping the body exactly as sent (no decoding).
function get(url, headers = {}) {
  return new Promise((resolve, reject) => {
    const req = http.get(url, { headers }, (res) => {
      const chunks = [];
      res.on("data", (c) => chunks.push(c));
      res.on("end", () => resolve({ status: res.statusCode, headers: res.headers, body: Buffer.concat(chunks) }));
      res.on("error", reject);
    });
    req.setTimeout(10_000, () => req.destroy(new Error(`timeout: ${url}`)));
    req.on("error", reject);
  });
}

async function startRelay() {
  if (!fs.existsSync(BIN)) throw new SetupError(`${BIN} is missing: run \`cargo build --release\` first`);
  const port = await freePort();
  const log = fs.openSync(path.join(work, "gaprelay.log"), "w");
  relay = spawn(BIN, ["serve", "--demo"], {
    cwd: ROOT,
    env: { ...process.env, GAPRELAY_BIND: `127.0.0.1:${port}`, RUST_LOG: "warn" },
    stdio: ["ignore", log, log],
  });
  const base = `http://127.0.0.1:${port}`;
  for (let i = 0; i < 200; i++) {
    if (relay.exitCode !== null) break;
    try {
      if ((await get(`${base}/healthz`)).status === 200) return base;
    } catch {
      // not listening yet
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  const tail = fs.readFileSync(path.join(work, "gaprelay.log"), "utf8").split("\n").slice(-20).join("\n");
  throw new SetupError(`gaprelay did not answer /healthz on ${base}; its log ends with:\n${tail}`);
}

// ---------------------------------------------------------------- 1. page weight

/// Same-origin files the page's markup loads (scripts, stylesheets, icons, images).
function linkedResources(html) {
  const found = [];
  const tag = /<(?:script|link|img)\b[^>]*>/gi;
  for (const [t] of html.matchAll(tag)) {
    const attr = /\b(?:src|href)\s*=\s*"([^"]*)"/i.exec(t);
    if (!attr) continue;
    const url = attr[1].replace(/&amp;/g, "&");
    if (url.startsWith("/") && !url.startsWith("//") && !found.includes(url)) found.push(url);
  }
  return found;
}

async function measure(base, route) {
  const res = await get(base + route, { "Accept-Encoding": "gzip" });
  if (res.status !== 200) throw new SetupError(`GET ${route} answered ${res.status}`);
  const encoding = res.headers["content-encoding"] ?? "identity";
  let raw;
  if (encoding === "gzip") raw = zlib.gunzipSync(res.body);
  else if (encoding === "identity") raw = res.body;
  else throw new SetupError(`GET ${route} came back as ${encoding} although only gzip was accepted`);
  return { route, raw: raw.length, wire: res.body.length, encoding, text: raw.toString("utf8") };
}

async function pageWeight(base) {
  const page = await measure(base, "/f/demo");
  const linked = linkedResources(page.text);
  for (const needed of ["/assets/form.js?v=", "/assets/form.css?v="]) {
    if (!linked.some((u) => u.startsWith(needed))) throw new SetupError(`/f/demo links no ${needed}…`);
  }
  const rows = [page];
  for (const route of [...linked, "/embed.js"]) {
    if (!rows.some((r) => r.route === route)) rows.push(await measure(base, route));
  }
  const total = { raw: sum(rows, "raw"), wire: sum(rows, "wire") };
  return { rows, total, ok: total.wire <= WEIGHT_BUDGET };
}

const sum = (rows, key) => rows.reduce((n, r) => n + r[key], 0);
const kib = (n) => `${(n / 1024).toFixed(1)} KiB`;
const bytes = (n) => `${n.toLocaleString("en-US")} B (${kib(n)})`;
/// `/assets/form.js?v=3f2a…` → `/assets/form.js?v=…`: the hash changes with every edit.
const shortRoute = (r) => r.replace(/\?v=[^&]*/, "?v=…");

function printWeight(w) {
  const width = Math.max(...w.rows.map((r) => shortRoute(r.route).length), 8);
  const line = (a, b, c, d) => console.log(`  ${a.padEnd(width)}  ${b.padStart(10)}  ${c.padStart(10)}  ${d}`);
  line("resource", "raw", "sent", "encoding");
  for (const r of w.rows) line(shortRoute(r.route), kib(r.raw), kib(r.wire), r.encoding);
  line("total", kib(w.total.raw), kib(w.total.wire), "");
  console.log(`  budget: compressed total ≤ ${kib(WEIGHT_BUDGET)}: ${w.ok ? "met" : "MISSED"} (${w.total.wire} B sent)`);
}

// ---------------------------------------------------------------- 2. Lighthouse

function ensureTools() {
  if (!fs.existsSync(CHROME)) {
    console.log(`${CHROME} is missing: installing Debian's chromium (no browser is ever downloaded)`);
    const asRoot = (args) =>
      process.getuid?.() === 0
        ? spawnSync(args[0], args.slice(1), { stdio: "inherit" })
        : spawnSync("sudo", args, { stdio: "inherit" });
    asRoot(["apt-get", "update"]);
    asRoot(["env", "DEBIAN_FRONTEND=noninteractive", "apt-get", "install", "-y", "--no-install-recommends", "chromium"]);
    if (!fs.existsSync(CHROME)) throw new SetupError(`cannot install chromium at ${CHROME}`);
  }
  // Like the venv's and the browser tests' stamps: `npm ci` again only when the lock changes.
  const stamp = path.join(HERE, "node_modules/.stamp");
  const lock = path.join(HERE, "package-lock.json");
  if (!fs.existsSync(stamp) || fs.statSync(stamp).mtimeMs < fs.statSync(lock).mtimeMs) {
    console.log("installing lighthouse (npm ci in benches/form)");
    const npm = spawnSync("npm", ["ci", "--no-audit", "--no-fund"], {
      cwd: HERE,
      stdio: "inherit",
      env: { ...process.env, PUPPETEER_SKIP_DOWNLOAD: "1", PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD: "1" },
    });
    if (npm.status !== 0) throw new SetupError("npm ci failed in benches/form");
    fs.writeFileSync(stamp, "");
  }
}

function chromiumVersion() {
  const out = spawnSync(CHROME, ["--version"], { encoding: "utf8" }).stdout ?? "";
  return /Chromium ([\d.]+)/.exec(out)?.[1] ?? (out.trim() || "unknown");
}

function lighthouse(url) {
  const output = path.join(work, "lighthouse.json");
  const run = spawnSync(
    "npx",
    [
      "--no-install",
      "lighthouse",
      url,
      "--only-categories=performance,accessibility,best-practices",
      "--chrome-flags=--headless=new --no-sandbox",
      "--output=json",
      `--output-path=${output}`,
      "--quiet",
    ],
    { cwd: HERE, stdio: ["ignore", "inherit", "inherit"], env: { ...process.env, CHROME_PATH: CHROME } },
  );
  if (run.status !== 0 || !fs.existsSync(output)) throw new SetupError(`lighthouse failed (exit ${run.status})`);
  const lhr = JSON.parse(fs.readFileSync(output, "utf8"));
  if (lhr.runtimeError) throw new SetupError(`lighthouse: ${lhr.runtimeError.code}: ${lhr.runtimeError.message}`);
  const scores = SCORE_BUDGETS.map(([id, name, min]) => {
    const raw = lhr.categories[id]?.score;
    const score = raw == null ? null : Math.round(raw * 100);
    return { id, name, min, score, ok: score !== null && score >= min, failing: failingAudits(lhr, id) };
  });
  const metrics = METRICS.map(([id, name]) => ({ name, value: lhr.audits[id]?.displayValue ?? "n/a" }));
  return { version: lhr.lighthouseVersion, scores, metrics, weight: lhr.audits["total-byte-weight"]?.numericValue };
}

/// The audits of a category that cost it points, with what they found.
function failingAudits(lhr, category) {
  const quiet = new Set(["informative", "notApplicable", "manual", "error"]);
  const failing = [];
  for (const ref of lhr.categories[category]?.auditRefs ?? []) {
    const a = lhr.audits[ref.id];
    if (!a || quiet.has(a.scoreDisplayMode) || a.score === null || a.score >= 1) continue;
    // An unweighted performance hint that Lighthouse itself rates as passing is no failure.
    if (ref.weight === 0 && a.score >= 0.9) continue;
    const items = (a.details?.items ?? []).slice(0, 5).map(describeItem).filter(Boolean);
    failing.push({ id: a.id, title: a.title, score: a.score, weight: ref.weight, value: a.displayValue ?? "", items });
  }
  return failing;
}

function describeItem(item) {
  const node = item.node ?? item.element;
  const text = node?.snippet ?? node?.selector ?? item.url ?? item.description ?? item.label;
  if (typeof text !== "string") return null;
  // Console errors name the failing address apart from their text.
  const where = item.sourceLocation?.url ?? (typeof item.source === "object" ? item.source?.url : undefined);
  return `${text.replace(/\s+/g, " ").slice(0, 200)}${where ? ` [${where}]` : ""}`;
}

function printScores(lh) {
  for (const s of lh.scores) {
    const shown = s.score === null ? "n/a" : String(s.score);
    console.log(`  ${s.name.padEnd(15)} ${shown.padStart(4)}   budget ≥ ${s.min}: ${s.ok ? "met" : "MISSED"}`);
  }
  for (const m of lh.metrics) console.log(`  ${m.name}: ${m.value}`);
  for (const s of lh.scores.filter((x) => !x.ok)) {
    console.log(`\n  ${s.name} is under budget; audits that cost it points:`);
    if (!s.failing.length) console.log("    (none listed: see the category's metric scores above)");
    for (const a of s.failing) {
      console.log(`    - ${a.id} (score ${a.score}, weight ${a.weight}): ${a.title}${a.value ? ` — ${a.value}` : ""}`);
      for (const i of a.items) console.log(`        ${i}`);
    }
  }
}

// ---------------------------------------------------------------- 3. docs/performance.md

function docsSection(w, lh, chromium, base) {
  const date = new Date().toISOString().slice(0, 10);
  const mark = (ok) => (ok ? "met" : "**missed**");
  const out = [
    START,
    "## Patient form budgets (`benches/form/budgets.mjs`)",
    "",
    `Measured on ${date} with Chromium ${chromium} (Debian) and Lighthouse ${lh.version}, by \`make bench\``,
    "(not `make test`). The script starts the release build with `serve --demo` on loopback and",
    "fetches everything the relay sends before the patient submits with `Accept-Encoding: gzip`,",
    "counting response bodies as sent and decoded; then Lighthouse audits the hosted page",
    "`/f/demo` with its default mobile profile (simulated slow 4G and a 4× slower CPU) in headless",
    "Chromium. The run fails when a budget is missed.",
    "",
    "| resource | raw | sent (gzip) |",
    "| --- | ---: | ---: |",
    ...w.rows.map((r) => `| \`${shortRoute(r.route)}\` | ${bytes(r.raw)} | ${bytes(r.wire)} |`),
    `| **total** | ${bytes(w.total.raw)} | **${bytes(w.total.wire)}** |`,
    "",
    `Budget: ≤ 50 KiB compressed — ${mark(w.ok)}.`,
    "",
    "| Lighthouse category | score | budget | |",
    "| --- | ---: | ---: | --- |",
    ...lh.scores.map((s) => `| ${s.name} | ${s.score ?? "n/a"} | ${s.min === 100 ? "100" : `≥ ${s.min}`} | ${mark(s.ok)} |`),
    "",
    `Simulated mobile metrics: ${lh.metrics.map((m) => `${m.name} ${m.value}`).join(", ")}.`,
  ];
  // The port changes with every run, so the page's own addresses are written as paths.
  const found = (a) => (a.items.length ? `: ${a.items.slice(0, 3).join("; ").replaceAll(base, "")}` : "");
  const failing = lh.scores
    .filter((s) => !s.ok)
    .flatMap((s) => s.failing.map((a) => `- ${s.name}: \`${a.id}\` — ${a.title}${found(a)}`));
  if (failing.length) out.push("", "Audits that cost points in a category under budget:", "", ...failing);
  out.push(END);
  return out.join("\n");
}

function writeDocs(section) {
  const text = fs.existsSync(DOCS) ? fs.readFileSync(DOCS, "utf8") : "# Performance\n";
  const start = text.indexOf(START);
  const end = text.indexOf(END);
  let next;
  if (start !== -1 && end > start) {
    next = text.slice(0, start) + section + text.slice(end + END.length);
  } else {
    next = `${text.replace(/\n*$/, "\n")}\n${section}\n`;
  }
  fs.writeFileSync(DOCS, next);
}

// ---------------------------------------------------------------- main

async function main() {
  ensureTools();
  const base = await startRelay();
  console.log(`gaprelay serve --demo on ${base}`);

  console.log("\n== page weight: what the relay sends before the patient submits (Accept-Encoding: gzip)");
  const weight = await pageWeight(base);
  printWeight(weight);

  const chromium = chromiumVersion();
  console.log(`\n== Lighthouse on ${base}/f/demo (mobile profile, Chromium ${chromium})`);
  const lh = lighthouse(`${base}/f/demo`);
  console.log(`  Lighthouse ${lh.version}`);
  printScores(lh);

  if (process.env.FORM_BENCH_DOCS !== "0") {
    writeDocs(docsSection(weight, lh, chromium, base));
    console.log(`\nwrote the figures to ${path.relative(ROOT, DOCS)}`);
  }
  return weight.ok && lh.scores.every((s) => s.ok);
}

// process.exit, not exitCode: the relay is a child process and would keep node waiting.
main().then(
  (ok) => {
    if (!ok) console.error("\nform budgets: MISSED (see above)");
    process.exit(ok ? 0 : 1);
  },
  (err) => {
    console.error(`form budgets: ${err instanceof SetupError ? err.message : err.stack}`);
    process.exit(2);
  },
);
