"""An SMS backend for fault tests with a real worker process: every send is appended to a file
(the phone the patient holds), and the test can make a send wait at a point it chooses, to kill
the worker there. Set by the worker's environment: TEST_SMS_BACKEND=tests.support.sms_file.FileSmsBackend
and TEST_SMS_DIR=<a temp dir>.

In the directory: `sent.jsonl` (one line per message that reached the "provider"); a file
`pause-before` (or `pause-after`) makes the next send write `reached-before` (`reached-after`)
and wait while the pause file exists, before (after) the message is recorded.
"""

from __future__ import annotations

import json
import os
import time
import uuid
from datetime import datetime
from pathlib import Path

from waitingroom.outbox.sms_backends import BaseSmsBackend, SmsResult


def directory() -> Path:
    return Path(os.environ["TEST_SMS_DIR"])


def sent(folder: Path) -> list[dict]:
    path = folder / "sent.jsonl"
    return [json.loads(line) for line in path.read_text().splitlines()] if path.exists() else []


def _pause(folder: Path, point: str) -> None:
    if (folder / f"pause-{point}").exists():
        (folder / f"reached-{point}").touch()
        while (folder / f"pause-{point}").exists():
            time.sleep(0.05)


class FileSmsBackend(BaseSmsBackend):
    def send(
        self, *, to: str, body: str, status_callback: str | None = None, reference: str = ""
    ) -> SmsResult:
        folder = directory()
        _pause(folder, "before")
        sid = "SM" + uuid.uuid4().hex
        with open(folder / "sent.jsonl", "a") as file:
            file.write(json.dumps({"to": to, "body": body, "reference": reference, "sid": sid}) + "\n")
            file.flush()
            os.fsync(file.fileno())
        _pause(folder, "after")
        return SmsResult(sid=sid, status="sent")

    def lookup(self, *, to: str, body: str, reference: str, since: datetime) -> SmsResult | None:
        for message in sent(directory()):
            if message["reference"] == reference:
                return SmsResult(sid=message["sid"], status="sent")
        return None
