"""A gaprelay webhook receiver in Python: the Standard Webhooks signature checked with
`standardwebhooks`, `data` decrypted with `jwcrypto`. Prints each event as a JSON line.

    WEBHOOK_SECRET=whsec_... DECRYPTION_KEY='{"kty": ...}' PORT=8000 python receiver.py

DECRYPTION_KEY: the `encryption_key` JWK the relay returned (`jwe`), your private JWK
(`jwe-receiver`), or unset (`none`). PORT=0 picks a free port.
"""

import json
import os
import sys
from http.server import BaseHTTPRequestHandler, HTTPServer

from jwcrypto import jwe, jwk
from standardwebhooks import Webhook

webhook = Webhook(os.environ["WEBHOOK_SECRET"])
key = jwk.JWK(**json.loads(os.environ["DECRYPTION_KEY"])) if os.environ.get("DECRYPTION_KEY") else None


def open_data(data):
    """The payload: `data` itself, or the plaintext of the JWE it holds."""
    if "ciphertext" not in data:
        return data
    token = jwe.JWE()
    token.deserialize(json.dumps(data), key=key)
    return json.loads(token.payload)


class Receiver(BaseHTTPRequestHandler):
    def do_POST(self):
        body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
        try:
            # Raises unless signed with the secret and timestamped within 5 minutes.
            event = webhook.verify(body, dict(self.headers))
            data = open_data(event["data"])
        except Exception as refused:
            print(f"refused: {type(refused).__name__}", file=sys.stderr, flush=True)
            self.send_response(400)
            self.end_headers()
            return
        # Store it, deduplicating on webhook-id (retries repeat it), then answer 2xx.
        print(json.dumps({"id": self.headers["webhook-id"], "type": event["type"], "data": data}), flush=True)
        self.send_response(204)
        self.end_headers()

    def log_message(self, *args):
        pass  # no request log: nothing about a delivery belongs in a log


server = HTTPServer(("127.0.0.1", int(os.environ.get("PORT", "8000"))), Receiver)
print(f"listening on {server.server_address[1]}", file=sys.stderr, flush=True)
server.serve_forever()
