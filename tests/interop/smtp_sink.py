"""A throwaway SMTP server for the integration tests (tests/api/support/smtp.rs).

Usage: smtp_sink.py PORT DIR [plain|starttls|tls]

Runs aiosmtpd, a real SMTP server, on 127.0.0.1:PORT without authentication, and writes
each message it accepts to DIR as one JSON file (000001.json, ...): the envelope
(mail_from, rcpt_tos), the parsed headers (from, to, subject), the decoded text body,
the raw message as received and the TLS version the message came over (null in plain).

plain (the default) speaks no TLS. starttls offers STARTTLS and refuses mail until the
client has used it; tls speaks TLS from the first byte (smtps). Both present a
certificate for 127.0.0.1 and localhost issued by a throwaway CA (trustme) whose
certificate is written to DIR/ca.pem before "ready". Each file appears whole (written aside, then renamed) before
the server answers 250, so once the sender's SMTP transaction ends the file is there.
Prints "ready" once it listens; runs until killed.
"""

import json
import os
import ssl
import sys
import threading
from email import message_from_bytes, policy

import trustme
from aiosmtpd.controller import Controller


class Sink:
    def __init__(self, directory):
        self.directory = directory
        self.count = 0
        self.lock = threading.Lock()

    async def handle_DATA(self, server, session, envelope):
        raw = envelope.original_content or envelope.content
        message = message_from_bytes(raw, policy=policy.default)
        body = message.get_body(preferencelist=("plain",))
        record = {
            "mail_from": envelope.mail_from,
            "rcpt_tos": list(envelope.rcpt_tos),
            "from": str(message.get("From", "")),
            "to": str(message.get("To", "")),
            "subject": str(message.get("Subject", "")),
            "body": body.get_content() if body is not None else "",
            "raw": raw.decode("utf-8", errors="replace"),
            "tls": tls_version(server),
        }
        with self.lock:
            self.count += 1
            name = f"{self.count:06d}.json"
        path = os.path.join(self.directory, name)
        with open(path + ".tmp", "w", encoding="utf-8") as f:
            json.dump(record, f)
        os.rename(path + ".tmp", path)
        return "250 Message accepted"


def tls_version(server):
    """The TLS version of the connection a message arrived on, or None."""
    transport = getattr(server, "transport", None)
    ssl_object = transport.get_extra_info("ssl_object") if transport else None
    return ssl_object.version() if ssl_object is not None else None


def server_context(directory):
    """A server context with a certificate from a new CA, whose PEM goes to DIR/ca.pem."""
    ca = trustme.CA()
    certificate = ca.issue_cert("127.0.0.1", "localhost")
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    certificate.configure_cert(context)
    ca.cert_pem.write_to_path(os.path.join(directory, "ca.pem"))
    return context


def main():
    port = int(sys.argv[1])
    directory = sys.argv[2]
    mode = sys.argv[3] if len(sys.argv) > 3 else "plain"
    sink = Sink(directory)
    if mode == "plain":
        controller = Controller(sink, hostname="127.0.0.1", port=port)
    elif mode == "starttls":
        controller = Controller(
            sink,
            hostname="127.0.0.1",
            port=port,
            tls_context=server_context(directory),
            require_starttls=True,
        )
    elif mode == "tls":
        controller = Controller(
            sink, hostname="127.0.0.1", port=port, ssl_context=server_context(directory)
        )
    else:
        sys.exit(f"unknown mode {mode!r}: plain, starttls or tls")
    controller.start()
    print("ready", flush=True)
    threading.Event().wait()


if __name__ == "__main__":
    main()
