"""A silent MP3 of a given length, made without an encoder: for the console voice backend (so a
developer's played call ends with a recording that plays) and for tests.

MPEG-1 Layer III, 44.1 kHz, 128 kbit/s, mono, constant bit rate: each frame is a 4-byte header
and 413 zero bytes (the side information all zero: no Huffman data, so every decoder plays
silence), 1,152 samples (26.1 ms) a frame. Constant bit rate lets a player compute the duration
from the size and seek by byte range, like the recordings Twilio sends."""

from __future__ import annotations

import math

# 0xFFFB: frame sync, MPEG-1, Layer III, no CRC; 0x90: 128 kbit/s, 44.1 kHz, no padding;
# 0xC0: mono.
FRAME_HEADER = bytes([0xFF, 0xFB, 0x90, 0xC0])
FRAME_BYTES = 144 * 128_000 // 44_100  # 417
FRAME_SECONDS = 1152 / 44_100


def silent_mp3(seconds: float) -> bytes:
    frames = max(1, math.ceil(seconds / FRAME_SECONDS))
    return (FRAME_HEADER + bytes(FRAME_BYTES - len(FRAME_HEADER))) * frames
