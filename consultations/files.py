"""Attachment files, apart from who may touch them: what a file is (decided from its bytes), how
large each kind may be, reading an upload to disk with both checks as it arrives, making images
safe to keep (re-encoded without their metadata, with a thumbnail), and storing under a name the
server makes. Serving them is consultations/ranges.py; who may do either, consultations/access.py.

The browser's claim (the part's Content-Type) and the file's name are never trusted: the type is
what `filetype` reads in the first bytes, and the stored name is random. The client's name for the
file is kept only as a label.

Storage is STORAGES["default"] (the file system under MEDIA_ROOT; S3 through django-storages in
production: docs/security.md, "Consultation files").
"""

from __future__ import annotations

import io
import secrets
import tempfile
import threading
import unicodedata
from dataclasses import dataclass, field
from pathlib import PurePath
from typing import IO, Any

import filetype
import pillow_heif
from django.conf import settings
from django.core.files import File
from django.core.files.base import ContentFile
from django.core.files.storage import Storage, storages
from django.core.files.uploadedfile import UploadedFile
from django.core.files.uploadhandler import StopUpload, TemporaryFileUploadHandler
from PIL import Image, ImageOps

from consultations.models import Attachment
from consultations.services import ConsultationRefused

# HEIC (iPhone photos) is decoded by libheif through pillow-heif's wheel, and kept as a JPEG:
# only Safari shows HEIC, and decoding it is what strips its metadata like any other image's.
pillow_heif.register_heif_opener()

Kind = Attachment.Kind

# filetype reads this many bytes of a file's start (its _NUM_SIGNATURE_BYTES).
SNIFF_BYTES = 8192
THUMBNAIL_SIZE = (320, 320)
# Decoding an image holds its pixels in memory (up to CONSULTATION_MAX_IMAGE_PIXELS x 4 bytes): at
# most this many at once per process, whatever the number of uploads.
_decoding = threading.BoundedSemaphore(2)


@dataclass(frozen=True)
class FileType:
    mime: str
    kind: Attachment.Kind
    extension: str
    # Pillow's names for the format (images only): the decoder is held to what the bytes said.
    pillow_formats: tuple[str, ...] = ()

    @property
    def shown_inline(self) -> bool:
        """Opened in the browser's tab rather than downloaded."""
        return self.mime.startswith(("image/", "video/")) or self.mime == "application/pdf"


JPEG = FileType("image/jpeg", Kind.IMAGE, "jpg", ("JPEG", "MPO"))
PNG = FileType("image/png", Kind.IMAGE, "png", ("PNG",))
WEBP = FileType("image/webp", Kind.IMAGE, "webp", ("WEBP",))
HEIC = FileType("image/heic", Kind.IMAGE, "heic", ("HEIF",))
MP4 = FileType("video/mp4", Kind.VIDEO, "mp4")
MOV = FileType("video/quicktime", Kind.VIDEO, "mov")
WEBM = FileType("video/webm", Kind.VIDEO, "webm")
PDF = FileType("application/pdf", Kind.DOCUMENT, "pdf")

# What filetype reports -> what is accepted. M4V is Apple's name for an MP4.
ALLOWED: dict[str, FileType] = {
    "image/jpeg": JPEG,
    "image/png": PNG,
    "image/webp": WEBP,
    "image/heic": HEIC,
    "image/heif": HEIC,
    "video/mp4": MP4,
    "video/x-m4v": MP4,
    "video/quicktime": MOV,
    "video/webm": WEBM,
    "application/pdf": PDF,
}
# The stored files' types (HEIC is stored as JPEG), for the content type a download is served with.
BY_MIME: dict[str, FileType] = {t.mime: t for t in ALLOWED.values()}

KIND_NAMES = {Kind.IMAGE: "Images", Kind.VIDEO: "Videos", Kind.DOCUMENT: "Documents"}
NOT_ALLOWED = (
    "This type of file can't be attached. Attach a photo (JPEG, PNG, HEIC or WebP), "
    "a video (MP4, MOV or WebM) or a PDF document."
)
EMPTY = "This file is empty: there is nothing in it to attach."
DAMAGED = "This image is damaged or incomplete, so it can't be attached. Try saving or taking it again."
ONE_FILE = "Attach one file at a time."


class FileRefused(ConsultationRefused):
    """The file cannot be attached; the message says why in plain words. `status` is the HTTP
    status the views answer with."""

    def __init__(self, message: str, status: int = 400) -> None:
        super().__init__(message)
        self.status = status


def max_bytes(kind: str) -> int:
    return {
        Kind.IMAGE: settings.CONSULTATION_MAX_IMAGE_BYTES,
        Kind.VIDEO: settings.CONSULTATION_MAX_VIDEO_BYTES,
        Kind.DOCUMENT: settings.CONSULTATION_MAX_DOCUMENT_BYTES,
    }[Kind(kind)]


def largest_allowed() -> int:
    return max(max_bytes(kind) for kind in Kind)


def _megabytes(size: int) -> str:
    return f"{size / (1024 * 1024):.1f}".removesuffix(".0") + " MB"


def too_large(kind: str) -> FileRefused:
    return FileRefused(
        f"This file is too large: {KIND_NAMES[Kind(kind)].lower()} can be up to "
        f"{_megabytes(max_bytes(kind))}.",
        status=413,
    )


def detect(head: bytes) -> FileType:
    """The file's type from its first bytes, or FileRefused whatever its name or claimed type."""
    if not head:
        raise FileRefused(EMPTY)
    guess = filetype.guess(head)
    found = ALLOWED.get(guess.mime) if guess else None
    if found is None:
        raise FileRefused(NOT_ALLOWED, status=415)
    return found


class AttachmentUploadHandler(TemporaryFileUploadHandler):
    """Streams the one file of an upload to a temporary file on disk (never into memory), decides
    its type from its first bytes and stops reading, with `refusal` set, as soon as the type is
    not allowed or the file passes its kind's limit. The view reads `refusal` when the file is
    missing from request.FILES."""

    def __init__(self, request: Any = None) -> None:
        super().__init__(request)
        self.refusal: FileRefused | None = None
        self.file_type: FileType | None = None
        self.files_seen = 0
        self.received = 0
        self._head = bytearray()

    def _refuse(self, refusal: FileRefused) -> None:
        self.refusal = refusal
        # connection_reset: the parser stops here instead of reading the rest of the body.
        raise StopUpload(connection_reset=True)

    def new_file(self, *args: Any, **kwargs: Any) -> None:
        self.files_seen += 1
        if self.files_seen > 1:
            self._refuse(FileRefused(ONE_FILE))
        super().new_file(*args, **kwargs)
        self.received = 0
        self._head = bytearray()
        self.file_type = None

    def receive_data_chunk(self, raw_data: bytes, start: int) -> bytes | None:
        self.received += len(raw_data)
        if self.file_type is None:
            self._head += raw_data[: SNIFF_BYTES - len(self._head)]
            if len(self._head) >= SNIFF_BYTES:
                self._decide()
        if self.file_type is not None and self.received > max_bytes(self.file_type.kind):
            self._refuse(too_large(self.file_type.kind))
        self.file.write(raw_data)
        return None

    def _decide(self) -> None:
        try:
            self.file_type = detect(bytes(self._head))
        except FileRefused as refused:
            self._refuse(refused)

    def file_complete(self, file_size: int) -> UploadedFile | None:
        if self.file_type is None:  # shorter than SNIFF_BYTES (or empty)
            self._decide()
        return super().file_complete(file_size)


def label_for(name: str | None) -> str:
    """The uploader's name for the file, as a one-line label of at most 120 characters (the
    extension kept when shortened). Shown only; never a path."""
    name = PurePath((name or "").replace("\\", "/")).name
    name = "".join(c for c in name if unicodedata.category(c) not in ("Cc", "Cf", "Zl", "Zp")).strip()
    if not name:
        return "file"
    if len(name) > 120:
        suffix = PurePath(name).suffix[:12]
        name = name[: 120 - len(suffix)] + suffix
    return name


def download_name(label: str, file_type: FileType) -> str:
    """A file name for Content-Disposition: the label's stem with the stored type's extension
    (a HEIC photo downloads as .jpg), without quotes or separators."""
    stem = PurePath(label).stem if "." in label else label
    stem = "".join(c for c in stem if c not in '"\\/;:*?<>|').strip(" .") or "file"
    return f"{stem[:100]}.{file_type.extension}"


@dataclass
class Prepared:
    """A checked file, ready to store: `content` is the upload itself, or the re-encoded image."""

    content: File
    file_type: FileType
    size: int
    label: str
    thumbnail: bytes | None = None
    _owned: list[IO[bytes]] = field(default_factory=list)

    def close(self) -> None:
        for handle in self._owned:
            handle.close()


def prepare(upload: UploadedFile) -> Prepared:
    """Check an upload (type from content, its kind's limit, images decodable) and make it safe to
    keep. Raises FileRefused. The upload's own name and content type are not used for anything
    but the label."""
    upload.seek(0)
    head = upload.read(SNIFF_BYTES)
    upload.seek(0)
    file_type = detect(head)
    size = upload.size or 0
    if size > max_bytes(file_type.kind):
        raise too_large(file_type.kind)
    label = label_for(upload.name)
    if file_type.kind != Kind.IMAGE:
        # Videos and PDFs are stored as sent: checked by their bytes, never decoded or shown by
        # the server; served with their checked type and nosniff.
        return Prepared(content=upload, file_type=file_type, size=size, label=label)
    return _reencode(upload, file_type, label)


def _reencode(upload: UploadedFile, file_type: FileType, label: str) -> Prepared:
    """The image decoded and written again: orientation applied, EXIF (GPS, camera, times), XMP
    and comments gone (only the colour profile is kept), with a JPEG thumbnail."""
    with _decoding:
        try:
            with Image.open(upload, formats=list(file_type.pillow_formats)) as image:
                if image.width * image.height > settings.CONSULTATION_MAX_IMAGE_PIXELS:
                    raise FileRefused(_too_many_pixels(), status=413)
                image.load()  # a truncated file fails here
                icc_profile = image.info.get("icc_profile")
                upright = ImageOps.exif_transpose(image)
        except Image.DecompressionBombError:
            raise FileRefused(_too_many_pixels(), status=413) from None
        except (OSError, SyntaxError, ValueError, EOFError):
            raise FileRefused(DAMAGED) from None
        upright.info = {}  # nothing of the original is written again, whatever a format plugin reads
        stored_type, encoded = _encode(upright, file_type, icc_profile)
        thumbnail = _thumbnail(upright)
    encoded.seek(0, io.SEEK_END)
    size = encoded.tell()
    encoded.seek(0)
    return Prepared(
        content=File(encoded, name=f"image.{stored_type.extension}"),
        file_type=stored_type,
        size=size,
        label=label,
        thumbnail=thumbnail,
        _owned=[encoded],
    )


def _too_many_pixels() -> str:
    megapixels = settings.CONSULTATION_MAX_IMAGE_PIXELS / 1_000_000
    return f"This image is too large to open: pictures can be up to {megapixels:g} megapixels."


def _encode(image: Image.Image, file_type: FileType, icc_profile: bytes | None) -> tuple[FileType, IO[bytes]]:
    """Saved again in its own format (HEIC as JPEG), nothing carried over but the pixels and the
    colour profile."""
    out: IO[bytes] = tempfile.TemporaryFile()  # noqa: SIM115 - handed to Prepared, which closes it
    extra: dict[str, Any] = {"icc_profile": icc_profile} if icc_profile else {}
    if file_type == PNG:
        image.save(out, format="PNG", **extra)
        return PNG, out
    if file_type == WEBP:
        if image.mode not in ("RGB", "RGBA"):
            image = image.convert("RGBA" if "A" in image.getbands() else "RGB")
        image.save(out, format="WEBP", quality=90, **extra)
        return WEBP, out
    if image.mode not in ("RGB", "L", "CMYK"):
        image = _flatten(image)
    image.save(out, format="JPEG", quality=90, **extra)
    return JPEG, out


def _flatten(image: Image.Image) -> Image.Image:
    """RGB on white (transparent parts of a PNG or WebP, palette images)."""
    image = image.convert("RGBA")
    background = Image.new("RGB", image.size, (255, 255, 255))
    background.paste(image, mask=image.getchannel("A"))
    return background


def _thumbnail(image: Image.Image) -> bytes:
    # A new small image (no copy of the full-size one), never larger than the original.
    small = ImageOps.contain(image, THUMBNAIL_SIZE) if max(image.size) > max(THUMBNAIL_SIZE) else image
    small = small.convert("RGB") if small.mode in ("RGB", "L", "CMYK") else _flatten(small)
    out = io.BytesIO()
    small.save(out, format="JPEG", quality=80)
    return out.getvalue()


@dataclass(frozen=True)
class Stored:
    name: str
    thumbnail_name: str
    size: int
    file_type: FileType
    label: str


def storage() -> Storage:
    return storages["default"]


def store(prepared: Prepared, *, clinic_id: int, consultation_id: int) -> Stored:
    """Write the file (and its thumbnail) under server-made names:
    consultations/<clinic>/<consultation>/<random>.<ext>."""
    base = f"consultations/{clinic_id}/{consultation_id}/{secrets.token_hex(16)}"
    target = storage()
    name = target.save(f"{base}.{prepared.file_type.extension}", prepared.content)
    thumbnail_name = ""
    try:
        if prepared.thumbnail is not None:
            thumbnail_name = target.save(f"{base}-thumb.jpg", ContentFile(prepared.thumbnail))
    except BaseException:
        target.delete(name)
        raise
    return Stored(
        name=name,
        thumbnail_name=thumbnail_name,
        size=prepared.size,
        file_type=prepared.file_type,
        label=prepared.label,
    )


def delete(stored: Stored) -> None:
    target = storage()
    for name in (stored.name, stored.thumbnail_name):
        if name:
            target.delete(name)
