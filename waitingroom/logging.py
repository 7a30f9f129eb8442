"""Keep link tokens out of logs: they are credentials (a patient's visit, a Recall SMS link, a
meeting's join link, a requester's magic link, a consultation client's room link)."""

import logging
import re

TOKEN_PATH = re.compile(
    r"(/(?:(?:ws/)?v(?:isit)?|r|m|requests/link|(?:ws/)?consult/room)/)[A-Za-z0-9_:.-]{16,}"
)


def redact(text: str) -> str:
    return TOKEN_PATH.sub(r"\1[redacted]", text)


class RedactVisitTokens(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        redacted = redact(message)
        if redacted != message:
            record.msg, record.args = redacted, None
        return True
