"""Evaluates FHIR R4 invariants on Bundles, with fhirpathpy: `python fhir_invariants.py FILE...`.

Each invariant is the FHIRPath expression published with the R4 specification, evaluated
on every element it applies to:

- bdl-7 on the Bundle;
- obs-6 and obs-7 on every Observation (in `entry.resource` and in `contained`);
- obs-3 on every Observation.referenceRange;
- qty-3 on every Quantity (found by shape: an object with a numeric `value`, a `unit`
  or a `comparator`, which no other R4 data type the relay renders has);
- rng-2 on every Range (Observation.valueRange, referenceRange.age) and, because the
  relay promises ordered ranges, on every referenceRange too (same low/high shape);
- ref-1 on every Reference (an object with a `reference`), with %rootResource the
  resource that holds it.

Prints one line per failure, naming the invariant, the resource (its fullUrl and type)
and the element; exits 1 when any fails, 2 on unusable input.
"""

from __future__ import annotations

import json
import sys
from decimal import Decimal

from fhirpathpy import evaluate
from fhirpathpy.models import models

R4 = models["r4"]

# The R4 expressions, verbatim (https://hl7.org/fhir/R4/).
BDL_7 = (
    "(type = 'history') or entry.where(fullUrl.exists())"
    ".select(fullUrl&iif(resource.meta.versionId.exists(), resource.meta.versionId, ''))"
    ".isDistinct()"
)
OBS_3 = "low.exists() or high.exists() or text.exists()"
OBS_6 = "dataAbsentReason.empty() or value.empty()"
OBS_7 = (
    "value.empty() or component.code.where("
    "coding.intersect(%resource.code.coding).exists()).empty()"
)
QTY_3 = "code.empty() or system.exists()"
RNG_2 = "low.empty() or high.empty() or (low <= high)"
REF_1 = (
    "reference.startsWith('#').not() or "
    "(reference.substring(1).trace('url') in %rootResource.contained.id.trace('ids'))"
)
# fhirpathpy 2.2.4 cannot compare two Quantity elements read from JSON (`low <= high`
# raises TypeError). Where it cannot, rng-2 is evaluated on the same-unit reading
# below, which is stricter than the specification (it also fails two ends in different
# units), as the relay always renders both ends of a range in one unit.
RNG_2_SAME_UNIT = (
    "low.empty() or high.empty() or ("
    "iif(low.code.exists(), low.system = high.system and low.code = high.code, "
    "high.code.empty() and low.unit = high.unit) "
    "and low.value <= high.value)"
)


def holds(node: dict, expression: str, env: dict) -> bool:
    """True when the expression gives `true` (an empty result is a failure)."""
    result = evaluate(node, expression, env, R4, {"traceFn": lambda *_: None})
    return result == [True]


def is_quantity(obj: dict) -> bool:
    value = obj.get("value")
    numeric = isinstance(value, (int, float, Decimal)) and not isinstance(value, bool)
    return numeric or "unit" in obj or "comparator" in obj


def walk(node, path: str):
    """Yields (object, path, key) for every JSON object under node."""
    if isinstance(node, list):
        for i, item in enumerate(node):
            yield from walk(item, f"{path}[{i}]")
    elif isinstance(node, dict):
        yield node, path
        for key, value in node.items():
            yield from walk(value, f"{path}.{key}")


def resources(bundle: dict):
    """Yields (label, resource) for every entry's resource and every contained one."""
    for i, entry in enumerate(bundle.get("entry") or []):
        resource = entry.get("resource")
        if not isinstance(resource, dict):
            continue
        label = f"{resource.get('resourceType')} {entry.get('fullUrl') or f'entry[{i}]'}"
        yield label, resource
        for j, inner in enumerate(resource.get("contained") or []):
            yield f"{label} contained[{j}] {inner.get('resourceType')}", inner


def check(bundle: dict) -> list[str]:
    failures: list[str] = []

    def expect(name, ok, where):
        if not ok:
            failures.append(f"{name} fails on {where}")

    expect("bdl-7", holds(bundle, BDL_7, {"resource": bundle}), "the Bundle")
    for label, resource in resources(bundle):
        env = {"resource": resource, "rootResource": resource}
        if resource.get("resourceType") == "Observation":
            expect("obs-6", holds(resource, OBS_6, env), label)
            expect("obs-7", holds(resource, OBS_7, env), label)
            for i, rr in enumerate(resource.get("referenceRange") or []):
                where = f"{label} referenceRange[{i}]"
                expect("obs-3", holds(rr, OBS_3, env), where)
                expect("rng-2", rng_2(rr, env), where)
                if isinstance(rr.get("age"), dict):
                    expect("rng-2", rng_2(rr["age"], env), f"{where}.age")
            if isinstance(resource.get("valueRange"), dict):
                expect("rng-2", rng_2(resource["valueRange"], env), f"{label} valueRange")
        for obj, path in walk(resource, ""):
            where = f"{label} {path or '(root)'}"
            if "reference" in obj and isinstance(obj["reference"], str):
                expect("ref-1", holds(obj, REF_1, env), where)
            elif is_quantity(obj):
                expect("qty-3", holds(obj, QTY_3, env), where)
    return failures


def rng_2(node: dict, env: dict) -> bool:
    try:
        return holds(node, RNG_2, env)
    except TypeError:
        return holds(node, RNG_2_SAME_UNIT, env)


def main(files: list[str]) -> int:
    if not files:
        print("usage: fhir_invariants.py FILE...", file=sys.stderr)
        return 2
    failed = 0
    for file in files:
        try:
            with open(file, encoding="utf-8") as f:
                bundle = json.load(f, parse_float=Decimal)
        except (OSError, ValueError) as e:
            print(f"FAIL {file}: not readable JSON: {e}")
            failed += 1
            continue
        if bundle.get("resourceType") != "Bundle":
            print(f"FAIL {file}: not a Bundle")
            failed += 1
            continue
        failures = check(bundle)
        if failures:
            failed += 1
            print(f"FAIL {file}")
            for line in failures:
                print(f"  {line}")
        else:
            print(f"ok {file}")
    if failed:
        print(f"{failed} of {len(files)} file(s) broke an R4 invariant")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
