"""A throwaway SMTP server for the integration tests (tests/api/support/smtp.rs).

Usage: smtp_sink.py PORT DIR

Runs aiosmtpd, a real SMTP server, on 127.0.0.1:PORT without TLS or authentication, and
writes each message it accepts to DIR as one JSON file (000001.json, ...): the envelope
(mail_from, rcpt_tos), the parsed headers (from, to, subject), the decoded text body and
the raw message as received. Each file appears whole (written aside, then renamed) before
the server answers 250, so once the sender's SMTP transaction ends the file is there.
Prints "ready" once it listens; runs until killed.
"""

import json
import os
import sys
import threading
from email import message_from_bytes, policy

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
        }
        with self.lock:
            self.count += 1
            name = f"{self.count:06d}.json"
        path = os.path.join(self.directory, name)
        with open(path + ".tmp", "w", encoding="utf-8") as f:
            json.dump(record, f)
        os.rename(path + ".tmp", path)
        return "250 Message accepted"


def main():
    port = int(sys.argv[1])
    directory = sys.argv[2]
    controller = Controller(Sink(directory), hostname="127.0.0.1", port=port)
    controller.start()
    print("ready", flush=True)
    threading.Event().wait()


if __name__ == "__main__":
    main()
