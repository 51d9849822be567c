"""Receiver-held keys with jwcrypto, as a CRM's Python receiver would use them.

stdin: {"op": "decrypt", "jwk": <private JWK>, "jwe": <JWE, JSON>} -> stdout: plaintext;
       {"op": "encrypt", "jwks": [<public JWK>, ...], "plaintext": str} -> stdout: the
       JWE (General JSON, ECDH-ES+A256KW / A256GCM, one recipient per key).
"""

import json
import sys

from jwcrypto import jwe, jwk


def main() -> None:
    request = json.load(sys.stdin)
    if request["op"] == "decrypt":
        key = jwk.JWK(**request["jwk"])
        token = jwe.JWE()
        token.deserialize(json.dumps(request["jwe"]), key=key)
        sys.stdout.write(token.payload.decode("utf-8"))
    elif request["op"] == "encrypt":
        token = jwe.JWE(
            request["plaintext"].encode("utf-8"),
            protected=json.dumps({"enc": "A256GCM"}),
        )
        for public in request["jwks"]:
            token.add_recipient(
                jwk.JWK(**public),
                header=json.dumps({"alg": "ECDH-ES+A256KW", "kid": public["kid"]}),
            )
        sys.stdout.write(token.serialize())
    else:
        raise SystemExit(f"unknown op {request['op']!r}")


if __name__ == "__main__":
    main()
