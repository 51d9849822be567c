#!/usr/bin/env python3
"""Verify one gaprelay webhook the way a CRM/EHR receiver would, with off-the-shelf libraries.

The Rust integration tests (tests/api/support/python.rs) run this script to prove that what
gaprelay sends is accepted by the reference Standard Webhooks verifier and that encrypted
payloads decrypt with an ordinary JOSE library, using only the endpoint's `whsec_` secret
and JWK as the public contract (shared API.md, "What a CRM/EHR receives") promises.

Input, one JSON object on stdin:
    {"secret": "whsec_...", "jwk": {...} | null,
     "headers": {"webhook-id": ..., "webhook-timestamp": ..., "webhook-signature": ...},
     "body": "<raw request body>"}

Output on success (exit 0), one JSON object on stdout:
    {"envelope": <body with `data` decrypted when a JWK was given>,
     "protected_header": <the JWE protected header, or null>}

On any failure the reason goes to stderr and the exit code is 1.
"""

import json
import sys

from jwcrypto import jwe, jwk
from standardwebhooks import Webhook

EXPECTED_HEADER = {"alg": "dir", "enc": "A256GCM", "cty": "json"}


class Rejected(Exception):
    """The webhook is not one a receiver following the contract would accept."""


def read_input():
    try:
        request = json.load(sys.stdin)
    except json.JSONDecodeError as e:
        raise Rejected(f"stdin is not JSON: {e}") from e
    if not isinstance(request, dict):
        raise Rejected("stdin must hold a JSON object")
    for field in ("secret", "headers", "body"):
        if field not in request:
            raise Rejected(f"stdin object lacks {field!r}")
    if not isinstance(request["secret"], str) or not request["secret"].startswith("whsec_"):
        raise Rejected("secret must be a string starting with whsec_")
    if not isinstance(request["headers"], dict):
        raise Rejected("headers must be an object")
    if not isinstance(request["body"], str):
        raise Rejected("body must be the raw body as a string")
    if request.get("jwk") is not None and not isinstance(request["jwk"], dict):
        raise Rejected("jwk must be an object or null")
    return request


def verify_signature(secret, headers, body):
    # The library checks the timestamp against a 5-minute tolerance too; tests verify
    # promptly, so that is part of what is being tested.
    try:
        Webhook(secret).verify(body, headers)
    except Exception as e:  # the library raises several exception types
        raise Rejected(f"Standard Webhooks verification failed: {type(e).__name__}: {e}") from e


def decrypt_data(data, key_json):
    if not isinstance(data, dict):
        raise Rejected(f"data must be a flattened JWE JSON object, got {type(data).__name__}")
    if "recipients" in data:
        raise Rejected("data is a general JWE JSON serialization; expected the flattened form")
    missing = [f for f in ("protected", "iv", "ciphertext", "tag") if f not in data]
    if missing:
        raise Rejected(f"flattened JWE lacks {', '.join(missing)}")
    try:
        key = jwk.JWK(**key_json)
    except Exception as e:
        raise Rejected(f"the JWK does not load: {type(e).__name__}: {e}") from e
    token = jwe.JWE()
    try:
        token.deserialize(json.dumps(data), key=key)
    except Exception as e:
        raise Rejected(f"JWE decryption failed: {type(e).__name__}: {e}") from e

    try:
        protected = json.loads(token.objects["protected"])
    except (KeyError, ValueError) as e:
        raise Rejected(f"JWE protected header is missing or not JSON: {e}") from e
    expected = dict(EXPECTED_HEADER, kid=key_json.get("kid"))
    wrong = {k: protected.get(k) for k, v in expected.items() if protected.get(k) != v}
    if wrong:
        raise Rejected(f"JWE protected header {protected} differs from {expected} in {sorted(wrong)}")

    try:
        plaintext = json.loads(token.payload.decode("utf-8"))
    except (UnicodeDecodeError, ValueError) as e:
        raise Rejected(f"decrypted payload is not UTF-8 JSON: {e}") from e
    return plaintext, protected


def main():
    try:
        request = read_input()
        verify_signature(request["secret"], request["headers"], request["body"])
        try:
            envelope = json.loads(request["body"])
        except ValueError as e:
            raise Rejected(f"body is not JSON: {e}") from e
        if not isinstance(envelope, dict) or "data" not in envelope:
            raise Rejected("body must be a JSON object with a data field")
        protected = None
        if request.get("jwk") is not None:
            envelope["data"], protected = decrypt_data(envelope["data"], request["jwk"])
    except Rejected as e:
        print(f"verify_webhook: rejected: {e}", file=sys.stderr)
        return 1
    json.dump({"envelope": envelope, "protected_header": protected}, sys.stdout)
    sys.stdout.write("\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
