// Validates FHIR R4 Bundles as JSON files: `node validate.mjs FILE...`.
//
// Two open, off-the-shelf checks, so that gaprelay's rendering is judged by code it did
// not write (tests/api/fhir.rs runs this on every Bundle it renders and on the example in
// docs/fhir.md):
// - the R4 structure definitions, with the `fhir` package's validator (FHIR.js 4.x):
//   unknown elements, missing required elements, arrays, the JSON type of primitives,
//   codes of required bindings (`status`, `gender`, `comparator`…);
// - the formats of `instant` and `dateTime` elements, which FHIR.js does not check for
//   instants, with the regular expressions the R4 specification publishes;
// - UCUM: every Quantity that says its code is UCUM (`system` http://unitsofmeasure.org),
//   in `valueQuantity`, `referenceRange.low`/`high` or anywhere else, has a code that
//   `@lhncbc/ucum-lhc` accepts exactly as written (`m[IU]/L`, not `mIU/L`).
//
// Prints one line per file ("ok FILE" or each problem) and exits 1 when any file fails.

import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);
const { Fhir } = require('fhir');
const ucum = require('@lhncbc/ucum-lhc');

const UCUM_SYSTEM = 'http://unitsofmeasure.org';
const fhir = new Fhir();
const ucumUtils = ucum.UcumLhcUtils.getInstance();

// Messages of the structure validator that are not problems of the Bundle, each with why
// it is ignored. Every other message, errors and fatal ones above all, fails.
const IGNORED = [
  // A code outside a value set of a binding that is not `required` (example, preferred
  // or extensible: LOINC codes on Observation.code, our own `meta.tag` codes, `OPTIN`
  // on Consent.policyRule). FHIR allows other codes there; a code outside a `required`
  // binding is reported as an error, which is not ignored.
  { severity: 'warning', message: /^Code ".*" \(.*\) not found in value set$/ },
  // FHIR.js does not ship every value set a binding names (LOINC's, the MIME types);
  // it says so and moves on. Nothing was checked, nothing is wrong.
  { severity: 'info', message: /^Value set ".*" could not be found\.$/ },
];

function structureProblems(resource) {
  let result;
  try {
    result = fhir.validate(resource, { errorOnUnexpected: true });
  } catch (e) {
    // FHIR.js throws on some malformed input (a `reference` that is not a string).
    return [`structure fatal: the validator failed on this input: ${e.message}`];
  }
  return result.messages
    .filter((m) => !IGNORED.some((i) => i.severity === m.severity && i.message.test(m.message || '')))
    .map((m) => `structure ${m.severity}: ${m.location || '(root)'}: ${m.message}`);
}

// R4's regular expressions for instant and dateTime (datatypes.html), and the elements
// of the relay's Bundles that have those types.
const INSTANT = /^([0-9]([0-9]([0-9][1-9]|[1-9]0)|[1-9]00)|[1-9]000)-(0[1-9]|1[0-2])-(0[1-9]|[1-2][0-9]|3[0-1])T([01][0-9]|2[0-3]):[0-5][0-9]:([0-5][0-9]|60)(\.[0-9]+)?(Z|(\+|-)((0[0-9]|1[0-3]):[0-5][0-9]|14:00))$/;
const DATE_TIME = /^([0-9]([0-9]([0-9][1-9]|[1-9]0)|[1-9]00)|[1-9]000)(-(0[1-9]|1[0-2])(-(0[1-9]|[1-2][0-9]|3[0-1])(T([01][0-9]|2[0-3]):[0-5][0-9]:([0-5][0-9]|60)(\.[0-9]+)?(Z|(\+|-)((0[0-9]|1[0-3]):[0-5][0-9]|14:00)))?)?)?$/;
const TIME_ELEMENTS = {
  timestamp: INSTANT, // Bundle.timestamp
  issued: INSTANT, // Observation.issued, DiagnosticReport.issued
  recorded: INSTANT, // Provenance.recorded
  authored: DATE_TIME, // QuestionnaireResponse.authored
  dateTime: DATE_TIME, // Consent.dateTime
  effectiveDateTime: DATE_TIME,
};

function timeProblems(resource) {
  const problems = [];
  walk(resource, '', (obj, path) => {
    for (const [key, re] of Object.entries(TIME_ELEMENTS)) {
      if (key in obj && !(typeof obj[key] === 'string' && re.test(obj[key]))) {
        problems.push(`format: ${path ? `${path}.` : ''}${key}: ${JSON.stringify(obj[key])} is not a valid ${re === INSTANT ? 'instant' : 'dateTime'}`);
      }
    }
  });
  return problems;
}

// Walks every object of the JSON, calling `visit(object, path)`.
function walk(node, path, visit) {
  if (Array.isArray(node)) {
    node.forEach((item, i) => walk(item, `${path}[${i}]`, visit));
  } else if (node !== null && typeof node === 'object') {
    visit(node, path);
    for (const [key, value] of Object.entries(node)) {
      walk(value, path ? `${path}.${key}` : key, visit);
    }
  }
}

function ucumProblems(resource) {
  const problems = [];
  let checked = 0;
  walk(resource, '', (obj, path) => {
    if (obj.system !== UCUM_SYSTEM) return;
    checked += 1;
    if (typeof obj.code !== 'string' || obj.code === '') {
      problems.push(`ucum: ${path}: system is UCUM but there is no code`);
      return;
    }
    const r = ucumUtils.validateUnitString(obj.code, true);
    if (r.status !== 'valid' || r.ucumCode !== obj.code) {
      const hints = (r.suggestions || []).map((s) => `${s.msg} ${(s.units || []).map((u) => u[0]).join(', ')}`);
      const why = [].concat(r.msg || [], hints).join(' ') || r.status;
      problems.push(`ucum: ${path}: "${obj.code}" is not a valid UCUM code (${why})`);
    }
  });
  return { problems, checked };
}

const files = process.argv.slice(2);
if (files.length === 0) {
  console.error('usage: node validate.mjs FILE...');
  process.exit(2);
}

let failed = 0;
for (const file of files) {
  let resource;
  try {
    resource = JSON.parse(readFileSync(file, 'utf8'));
  } catch (e) {
    console.log(`FAIL ${file}: not JSON: ${e.message}`);
    failed += 1;
    continue;
  }
  const problems = [];
  if (resource.resourceType !== 'Bundle') {
    problems.push(`not a Bundle (resourceType ${JSON.stringify(resource.resourceType)})`);
  }
  problems.push(...structureProblems(resource));
  problems.push(...timeProblems(resource));
  const ucumResult = ucumProblems(resource);
  problems.push(...ucumResult.problems);
  if (problems.length > 0) {
    failed += 1;
    console.log(`FAIL ${file}`);
    for (const p of problems) console.log(`  ${p}`);
  } else {
    console.log(`ok ${file} (${ucumResult.checked} UCUM quantities)`);
  }
}
if (failed > 0) {
  console.log(`${failed} of ${files.length} file(s) failed FHIR R4 validation`);
  process.exit(1);
}
