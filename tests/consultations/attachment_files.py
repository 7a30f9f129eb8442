"""Real files for the attachment tests, made here: a phone photo with EXIF GPS (Pillow), a minimal
PDF written by hand, an MP4's `ftyp` box, a HEIC photo (pillow-heif), a truncated JPEG, and an
executable's header saved under an image's name. Plus the staff and client upload helpers."""

from __future__ import annotations

import io
from pathlib import Path

import pillow_heif
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from PIL import ExifTags, Image

from consultations.models import Consultation

pillow_heif.register_heif_opener()

GPS: dict[int, object] = {
    ExifTags.GPS.GPSLatitudeRef: "N",
    ExifTags.GPS.GPSLatitude: (52.0, 22.0, 10.0),
    ExifTags.GPS.GPSLongitudeRef: "E",
    ExifTags.GPS.GPSLongitude: (4.0, 53.0, 0.0),
}


def exif_with_gps(orientation: int = 1) -> Image.Exif:
    exif = Image.Exif()
    exif[ExifTags.Base.Orientation] = orientation
    exif[ExifTags.Base.Make] = "PhoneMaker"
    exif.get_ifd(ExifTags.IFD.GPSInfo).update(GPS)
    return exif


def photo(size: tuple[int, int] = (40, 20), *, orientation: int = 1, noise: bool = False) -> bytes:
    """A JPEG as a phone takes it: EXIF with the place it was taken (GPS) and an orientation."""
    image = Image.effect_noise(size, 60).convert("RGB") if noise else Image.new("RGB", size, (200, 30, 30))
    out = io.BytesIO()
    image.save(out, format="JPEG", exif=exif_with_gps(orientation), quality=95)
    return out.getvalue()


def png(size: tuple[int, int] = (30, 30)) -> bytes:
    out = io.BytesIO()
    Image.new("RGBA", size, (0, 128, 0, 128)).save(out, format="PNG", exif=exif_with_gps())
    return out.getvalue()


def heic(size: tuple[int, int] = (32, 24)) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", size, (10, 10, 200)).save(out, format="HEIF", exif=exif_with_gps())
    return out.getvalue()


def pdf(padding: int = 0) -> bytes:
    """A minimal one-page PDF, by hand (`padding` bytes of comment make it as large as needed)."""
    body = (
        b"%PDF-1.4\n"
        b"1 0 obj << /Type /Catalog /Pages 2 0 R >> endobj\n"
        b"2 0 obj << /Type /Pages /Kids [3 0 R] /Count 1 >> endobj\n"
        b"3 0 obj << /Type /Page /Parent 2 0 R /MediaBox [0 0 200 200] >> endobj\n"
    )
    body += b"%" + b"x" * padding + b"\n" if padding else b""
    return body + b"trailer << /Root 1 0 R >>\n%%EOF\n"


def mp4(size: int = 4096) -> bytes:
    """An MP4's opening `ftyp` box (brand isom), then an `mdat` box of filler."""
    ftyp = b"\x00\x00\x00\x18ftypisom\x00\x00\x02\x00isommp42"
    filler = bytes(range(256)) * (size // 256 + 1)
    mdat = (8 + size).to_bytes(4, "big") + b"mdat" + filler[:size]
    return ftyp + mdat


def elf() -> bytes:
    """A Linux executable's header (the ELF magic), padded out."""
    return b"\x7fELF\x02\x01\x01\x00" + b"\x00" * 8 + b"\x02\x00\x3e\x00" + b"\x00" * 2000


def truncated_jpeg() -> bytes:
    whole = photo((300, 300), noise=True)
    return whole[: len(whole) // 2]


def upload_file(
    content: bytes, name: str, content_type: str = "application/octet-stream"
) -> SimpleUploadedFile:
    return SimpleUploadedFile(name, content, content_type=content_type)


def staff_files_url(consultation: Consultation) -> str:
    return f"/consultations/{consultation.pk}/files/"


def client_files_url(consultation: Consultation) -> str:
    return f"/consult/room/{consultation.client_token}/files/"


def post_file(client: Client, url: str, content: bytes, name: str, content_type: str = "image/jpeg"):
    return client.post(
        url, {"file": upload_file(content, name, content_type)}, headers={"Accept": "application/json"}
    )


def stored_files(root: Path) -> list[Path]:
    """Every file under a storage folder (the `media` fixture's)."""
    return sorted(path for path in root.rglob("*") if path.is_file()) if root.exists() else []
