"""What image files are: the one vocabulary of image file types (extensions read, those
recognised but not readable, the file dialogs' filter, Pillow's formats accepted) and the
header checks that name what is wrong with a PNG or JPEG before any decoder runs.

Decoding itself is ``training.data.decode``; this module needs neither Pillow nor OpenCV,
so a folder scan can classify file names without importing a decoder.
"""
from __future__ import annotations

import struct
import zlib

SUPPORTED_FORMATS = {"JPEG", "MPO", "PNG", "BMP", "DIB", "GIF", "WEBP", "TIFF", "AVIF"}
# The one list of file extensions read as images (dataset scans, CSV ids without an
# extension, predict on a folder, the app's file dialogs), most common first.
IMAGE_EXT_ORDER = (".jpg", ".jpeg", ".png", ".jpe", ".jfif", ".bmp", ".dib", ".gif", ".webp",
                   ".tif", ".tiff", ".avif")
IMAGE_EXTS = frozenset(IMAGE_EXT_ORDER)
# Image formats people do have in photo folders that we cannot read: scans say so precisely.
UNSUPPORTED_IMAGE_EXTS = frozenset({".heic", ".heif", ".svg", ".psd", ".ico", ".raw", ".cr2",
                                    ".nef", ".arw", ".dng", ".jp2", ".jxl", ".pdf", ".eps"})
# A file dialog's name filter for images (Qt's syntax), from the same list.
IMAGE_FILE_FILTER = f"Images ({' '.join('*' + e for e in IMAGE_EXT_ORDER)});;All files (*)"
PNG_SIG = b"\x89PNG\r\n\x1a\n"
PNG_IEND = b"IEND\xaeB`\x82"  # an IEND chunk's type and (constant) CRC: the file's last 8 bytes


class DecodeError(ValueError):
    """A file that cannot be used as an image; ``reason`` is shown to the user."""

    def __init__(self, reason: str):
        super().__init__(reason)
        self.reason = reason


def png_info(data: bytes) -> tuple[int, int, int, int, set]:
    """Walk a PNG's chunks, checking each CRC; returns (w, h, bit depth, colour type, chunk types).

    Used when a PNG looks damaged, and before Pillow decodes a PNG, so the user reads
    "CRC error in IDAT chunk" rather than a decoder's internal message.
    """
    view, size = memoryview(data), len(data)
    pos, types, ihdr = 8, set(), None
    from_bytes = int.from_bytes
    while pos + 12 <= size:
        length = from_bytes(data[pos:pos + 4], "big")
        ctype = data[pos + 4:pos + 8]
        end = pos + 12 + length
        if end > size:
            raise DecodeError(f"truncated PNG file ({ctype.decode('latin-1')} chunk cut off at byte {size})")
        if zlib.crc32(view[pos + 4:end - 4]) != from_bytes(data[end - 4:end], "big"):
            raise DecodeError(f"corrupt PNG file (CRC error in {ctype.decode('latin-1')} chunk at byte {pos})")
        types.add(ctype)
        if ctype == b"IHDR":
            ihdr = struct.unpack(">IIBB", data[pos + 8:pos + 18])
        elif ctype == b"IEND":
            break
        pos = end
    if ihdr is None:
        raise DecodeError("corrupt PNG file (no IHDR chunk)")
    if b"IEND" not in types:
        raise DecodeError("truncated PNG file (no IEND chunk)")
    return (*ihdr, types)


def jpeg_info(data: bytes) -> tuple[int, int, int, bool] | None:
    """(w, h, components, has_exif) from a JPEG's markers, or None if unusual."""
    pos, exif = 2, False
    while pos + 4 <= len(data):
        if data[pos] != 0xFF:
            return None
        marker = data[pos + 1]
        if marker == 0xFF:
            pos += 1
            continue
        (length,) = struct.unpack(">H", data[pos + 2:pos + 4])
        if marker == 0xE1 and data[pos + 4:pos + 10] == b"Exif\x00\x00":
            exif = True
        if 0xC0 <= marker <= 0xCF and marker not in (0xC4, 0xC8, 0xCC):
            h, w, comps = struct.unpack(">HHB", data[pos + 5:pos + 10])
            return w, h, comps, exif
        pos += 2 + length
    return None
