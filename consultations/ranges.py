"""Serving a stored file with byte ranges, so that a video seeks without downloading what comes
before (RFC 9110 section 14: one range per request, which is what browsers' media players ask).

- `Range: bytes=a-b`, `bytes=a-`, `bytes=-n` -> 206 with Content-Range; past the end -> 416 with
  `Content-Range: bytes */size`; anything else (several ranges, another unit, a malformed or
  reversed range) is ignored, and the whole file is sent with 200, as the RFC allows.
- Content-Type is the stored type the server decided, never the upload's claim; nosniff stops a
  browser from guessing another; Content-Disposition carries a safe name made from the label.
- The body streams in 64 KiB reads. Under ASGI the chunks are read through an async iterator:
  Django turns a sync iterator into a list before sending it (the whole file in memory).
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator, Iterator
from typing import IO

from asgiref.sync import sync_to_async
from django.core.files.storage import Storage
from django.core.handlers.asgi import ASGIRequest
from django.http import HttpRequest, HttpResponse, HttpResponseBase, StreamingHttpResponse
from django.utils.http import content_disposition_header

CHUNK = 64 * 1024
_SINGLE_RANGE = re.compile(r"^bytes=\s*(\d*)\s*-\s*(\d*)\s*$", re.ASCII)
# Positions are read as at most this many digits: more is past any file's end, and int() refuses
# strings over 4300 digits (a ValueError, a 500) that a 16 KiB header line can carry.
_MAX_DIGITS = 18


def _position(digits: str) -> int:
    return int(digits) if len(digits) <= _MAX_DIGITS else 10**_MAX_DIGITS


class Unsatisfiable(Exception):
    """The range starts past the end of the file (or asks for its last 0 bytes)."""


def parse_range(header: str | None, size: int) -> tuple[int, int] | None:
    """The (first, last) byte, inclusive, of a single range, or None to send the whole file.
    Raises Unsatisfiable for a range no byte of the file satisfies."""
    match = _SINGLE_RANGE.match(header or "")
    if match is None:
        return None
    first, last = match.groups()
    if not first and not last:
        return None
    if not first:  # the last n bytes
        suffix = _position(last)
        if suffix == 0:
            raise Unsatisfiable()
        return max(0, size - suffix), size - 1
    start = _position(first)
    if last and _position(last) < start:
        return None  # invalid: ignored, not refused
    if start >= size:
        raise Unsatisfiable()
    return start, min(_position(last), size - 1) if last else size - 1


class _Chunks:
    """The bytes [start, start + length) of an open file, read a chunk at a time; closed with the
    response (Django calls close() on a streaming response's iterator)."""

    def __init__(self, handle: IO[bytes], length: int) -> None:
        self.handle = handle
        self.remaining = length

    def _read(self) -> bytes:
        data = self.handle.read(min(CHUNK, self.remaining)) if self.remaining > 0 else b""
        self.remaining -= len(data)
        return data

    def close(self) -> None:
        self.handle.close()


class SyncChunks(_Chunks):
    def __iter__(self) -> Iterator[bytes]:
        return self

    def __next__(self) -> bytes:
        data = self._read()
        if not data:
            raise StopIteration
        return data


class AsyncChunks(_Chunks):
    def __aiter__(self) -> AsyncIterator[bytes]:
        return self

    async def __anext__(self) -> bytes:
        # In a worker thread: a storage's read may be a network call (S3).
        data = await sync_to_async(self._read, thread_sensitive=False)()
        if not data:
            raise StopAsyncIteration
        return data


def _common_headers(response: HttpResponseBase, *, filename: str, inline: bool) -> HttpResponseBase:
    response["Accept-Ranges"] = "bytes"
    response["X-Content-Type-Options"] = "nosniff"
    disposition = content_disposition_header(not inline, filename)
    if disposition:
        response["Content-Disposition"] = disposition
    return response


def file_response(
    request: HttpRequest,
    *,
    storage: Storage,
    name: str,
    size: int,
    content_type: str,
    filename: str,
    inline: bool,
) -> HttpResponseBase:
    """The stored file `name` (of `size` bytes), whole or the one range the request asks for."""
    try:
        wanted = parse_range(request.headers.get("Range"), size)
    except Unsatisfiable:
        refused = HttpResponse(status=416)
        refused["Content-Range"] = f"bytes */{size}"
        return _common_headers(refused, filename=filename, inline=inline)
    start, end = wanted if wanted is not None else (0, size - 1)
    length = end - start + 1
    handle = storage.open(name, "rb")
    try:
        if start:
            handle.seek(start)
    except BaseException:
        handle.close()
        raise
    chunks_class = AsyncChunks if isinstance(request, ASGIRequest) else SyncChunks
    response = StreamingHttpResponse(
        chunks_class(handle, length), status=206 if wanted else 200, content_type=content_type
    )
    response["Content-Length"] = str(length)
    if wanted:
        response["Content-Range"] = f"bytes {start}-{end}/{size}"
    return _common_headers(response, filename=filename, inline=inline)


def range_starts_at_zero(request: HttpRequest, size: int) -> bool:
    """Whether this request reads the file from its start (an open, not a video's seek)."""
    try:
        wanted = parse_range(request.headers.get("Range"), size)
    except Unsatisfiable:
        return False
    return wanted is None or wanted[0] == 0
