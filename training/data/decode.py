"""Decoding one image file into a uint8 array, safely, whatever the user's folder holds.

Pillow does the general work (JPEG, PNG 8/16-bit, BMP, GIF first frame, WebP, TIFF; every
colour mode; EXIF orientation). Plain 8-bit PNGs and JPEGs without EXIF, the bulk of
datasets like MNIST-as-PNG, take a fast path through ``cv2.imdecode`` (measured here:
35 us vs 220 us per 28x28 PNG); both paths share the same resize and colour conversion,
so a file gives the same pixels whichever path it takes. Enlarging uses OpenCV's bilinear
resize, shrinking Pillow's antialiased one (see ``training.data.pixels.resize_array``); file types
and header checks are ``training.data.formats``.

Files are read as bytes first, then decoded, so non-ASCII paths work everywhere
(``cv2.imread`` fails on them on Windows).
"""
from __future__ import annotations

import io
import math
import os
import stat
import struct
import warnings

import numpy as np
from PIL import Image, ImageFile, ImageOps

from .formats import PNG_IEND, PNG_SIG, SUPPORTED_FORMATS, DecodeError, jpeg_info, png_info
from .pixels import RESIZE_FIRST, bytes_needed_per_pixel, enlarges, resize_array, resize_image, to_8bit, to_gray

# Truncated files must fail, not come back half grey (this is Pillow's default; pin it).
ImageFile.LOAD_TRUNCATED_IMAGES = False
# Our own byte budget below replaces Pillow's pixel-count warning for 89-178 MP images.
warnings.filterwarnings("ignore", category=Image.DecompressionBombWarning)

MAX_DECODE_MB = 350          # one decoded image may not need more than this (9000x9000 RGB fits)
FAST_MAX_PIXELS = 4_000_000  # bigger files go through Pillow (JPEG draft mode)
COLOR_MODES = ("rgb", "grayscale")


def normalize_size(size) -> tuple[int, int] | None:
    """``(h, w)`` from an int, a pair, or None."""
    if size is None:
        return None
    if isinstance(size, (int, np.integer)) and not isinstance(size, bool):
        size = (int(size), int(size))
    try:
        h, w = (int(v) for v in size)
    except (TypeError, ValueError):
        raise ValueError(f"size must be (height, width) or an int. Received: size={size!r}") from None
    if h < 1 or w < 1:
        raise ValueError(f"size must be positive. Received: size={size!r}")
    return h, w


def check_color_mode(color_mode: str) -> str:
    if color_mode not in COLOR_MODES:
        raise ValueError(f"color_mode must be 'rgb' or 'grayscale'. Received: color_mode={color_mode!r}")
    return color_mode


def decode_image(src, size=None, color_mode: str = "rgb") -> np.ndarray:
    """Decode an image file (or its bytes) to a uint8 ``(H, W, C)`` array, C = 1 or 3.

    Resizing: a plain resize to ``(h, w)`` (aspect ratio not kept, as Keras'
    ``image_dataset_from_directory`` does by default) with Pillow's ``BILINEAR`` filter,
    which widens its support when shrinking, so big downscales average pixels like
    ``tf.image.resize(..., antialias=True)`` instead of aliasing; shrinking by more than
    3x first reduces by whole factors (box average, like Pillow's ``reducing_gap=3``).
    Big JPEGs are decoded at a reduced resolution (``draft``) that is still at least
    twice the target size. Memory: one file may not need more than ``MAX_DECODE_MB``
    (a 9000x9000 RGB PNG fits; pass a ``size`` for previews of huge images).

    Colour: 16-bit images are scaled to 8 bits; transparency is composited on white;
    palette, CMYK and other modes are converted; grayscale uses ITU-R 601 luma (Pillow's
    ``convert("L")``, same weights as ``tf.image.rgb_to_grayscale``). EXIF orientation is
    applied, so photos come out upright.

    Args:
        src: a path (str / ``os.PathLike``) or the file's bytes.
        size: ``(height, width)``, an int for a square, or None for the original size.
        color_mode: ``"rgb"`` or ``"grayscale"``.

    Returns:
        A C-contiguous uint8 array ``(H, W, 3)`` or ``(H, W, 1)``.

    Raises:
        DecodeError: empty, corrupt, truncated, unsupported or too large; ``reason``
            says which.
    """
    return _decode(src, normalize_size(size), check_color_mode(color_mode))


def _nonblocking(path, flags):
    return os.open(path, flags | getattr(os, "O_NONBLOCK", 0))


def _read(src) -> bytes:
    if isinstance(src, (bytes, bytearray, memoryview)):
        return bytes(src)
    try:
        # Not blocking on a FIFO, and never more than an image can need: a path may come
        # from a shared run folder's evaluation.json (issue 25).
        with open(src, "rb", opener=_nonblocking) as f:
            st = os.fstat(f.fileno())
            if not stat.S_ISREG(st.st_mode):
                raise DecodeError("not a regular file (a folder, pipe or device)")
            if st.st_size > MAX_DECODE_MB * 2**20:
                raise DecodeError(f"the file is {st.st_size / 2**20:,.0f} MB; no image this app "
                                  f"decodes is over {MAX_DECODE_MB} MB")
            return f.read()
    except OSError as e:
        raise DecodeError(f"cannot read file: {e.strerror or e}") from None


def _decode(src, size: tuple[int, int] | None, color_mode: str) -> np.ndarray:
    """:func:`decode_image` after argument checks."""
    return decode_bytes(_read(src), size, color_mode)


def decode_bytes(data: bytes, size: tuple[int, int] | None, color_mode: str) -> np.ndarray:
    """:func:`decode_image` of a file's bytes, with ``size`` already a ``(h, w)`` pair or
    None (the per-file hot path of the parallel reader)."""
    if not data:
        raise DecodeError("empty file (0 bytes)")
    arr = _decode_fast(data)
    if arr is None:
        arr = _decode_pillow(data, size)
    return _finish(arr, size, color_mode)


def decode_to_fit(src, max_side, enlarge: bool = True) -> np.ndarray:
    """Decode for display: the image's own colours (grey stays ``(H, W)``, else
    ``(H, W, 3)``), fitted in a ``max_side`` square, or a ``(width, height)`` box (the
    widget it is shown in), by :func:`fit_in_box`. A JPEG at least twice its fit decodes
    at reduced resolution (libjpeg's 1/2, 1/4 or 1/8 scaling), the smallest that still
    covers the fit: a 4000x3000 photo for a 480 px preview decodes at 500x375 (34 ms here
    instead of 72 ms at 2000x1500), a 1024x768 one for an 88 px thumbnail at 128x96
    (4 ms instead of 10); a 9000x9000 photo costs a few MB. Same colour handling as
    training (16-bit scaled by 65535, alpha on white, EXIF orientation). Training's
    pixels (:func:`decode_image`) do not go through here.

    Raises:
        DecodeError: as :func:`decode_image`.
    """
    data = _read(src)
    if not data:
        raise DecodeError("empty file (0 bytes)")
    box = _box(max_side)
    # A JPEG that libjpeg can shrink on the way skips the full-size fast path.
    arr = None if _jpeg_reducible(data, box) else _decode_fast(data)
    if arr is None:
        arr = _decode_pillow(data, None, draft_box=box)
    return fit_in_box(arr, box, enlarge)


def _box(max_side) -> tuple[int, int]:
    """``(width, height)`` from a side (a square) or a pair."""
    if isinstance(max_side, (tuple, list)):
        return max(1, int(max_side[0])), max(1, int(max_side[1]))
    return max(1, int(max_side)), max(1, int(max_side))


def _fit_scale(w: int, h: int, box: tuple[int, int]) -> float:
    """The scale that fits a ``w`` x ``h`` image in ``box`` (aspect ratio kept)."""
    return min(box[0] / max(w, 1), box[1] / max(h, 1))


def _jpeg_reducible(data: bytes, box: tuple[int, int]) -> bool:
    """True for a JPEG at least twice as big as its fit in ``box`` (either orientation:
    EXIF may turn it)."""
    if data[:3] != b"\xff\xd8\xff":
        return False
    info = jpeg_info(data)
    return info is not None and max(_fit_scale(info[0], info[1], box),
                                    _fit_scale(info[1], info[0], box)) <= 0.5


def fit_in_box(arr: np.ndarray, max_side, enlarge: bool = True) -> np.ndarray:
    """Shrink ``arr`` to fit a ``max_side`` square or a ``(width, height)`` box keeping its
    aspect ratio (the training resize: reduce + bilinear); with ``enlarge``, tiny images
    (16x16, 28x28 MNIST) are enlarged by a whole factor up to 4x with nearest-neighbour
    so their pixels stay crisp."""
    if arr.ndim == 3 and arr.shape[2] == 1:
        arr = arr[:, :, 0]
    h, w = arr.shape[:2]
    scale = _fit_scale(w, h, _box(max_side))
    if scale >= 1:
        scale = min(float(int(scale)), 4.0) if enlarge else 1.0
        if scale <= 1:
            return np.ascontiguousarray(arr)
        size = (max(1, round(w * scale)), max(1, round(h * scale)))
        return np.asarray(Image.fromarray(np.ascontiguousarray(arr)).resize(size, Image.NEAREST))
    size = (max(1, round(h * scale)), max(1, round(w * scale)))
    return np.asarray(resize_image(Image.fromarray(np.ascontiguousarray(arr)), size))


def resize_to(arr: np.ndarray, size, color_mode: str) -> np.ndarray:
    """A decoded uint8 ``(H, W)``, ``(H, W, 1|3|4)`` array at ``size`` and ``color_mode``,
    exactly as training prepares a file (used for images given as arrays)."""
    arr = np.asarray(arr)
    if arr.dtype != np.uint8:
        raise ValueError(f"expected a uint8 image. Received: dtype={arr.dtype}")
    if arr.ndim == 3 and arr.shape[2] == 1:
        arr = arr[:, :, 0]
    elif arr.ndim == 3 and arr.shape[2] == 4:
        arr = to_8bit(Image.fromarray(np.ascontiguousarray(arr), "RGBA"))
    if arr.ndim not in (2, 3) or (arr.ndim == 3 and arr.shape[2] != 3):
        raise ValueError(f"expected an image (H, W) or (H, W, 1|3|4). Received: shape={arr.shape}")
    return _finish(arr, normalize_size(size), check_color_mode(color_mode))


def _decode_fast(data: bytes) -> np.ndarray | None:
    """cv2 decode for plain 8-bit grey/RGB PNGs and EXIF-free JPEGs; None means "use Pillow".

    Every check here is a fixed-offset read or a C-level substring search: per-file Python
    work is what limits decoding 60,000 tiny PNGs.
    """
    if data[:8] == PNG_SIG:
        if data[12:16] != b"IHDR" or data[-8:] != PNG_IEND:
            png_info(data)  # raises the precise reason (truncated, CRC) if there is one
            return None
        w, h, depth, ctype = struct.unpack(">IIBB", data[16:26])
        if depth != 8 or ctype not in (0, 2) or b"tRNS" in data or b"eXIf" in data:
            return None
    elif data[:3] == b"\xff\xd8\xff":
        info = jpeg_info(data)
        # No end-of-image marker means truncated: let Pillow refuse it (libjpeg would pad grey).
        if info is None or info[2] not in (1, 3) or info[3] or data.rstrip(b"\x00\r\n ")[-2:] != b"\xff\xd9":
            return None
        w, h = info[0], info[1]
    else:
        return None
    if w * h > FAST_MAX_PIXELS:
        return None
    import cv2

    arr = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_UNCHANGED)
    if arr is None and data[:8] == PNG_SIG:
        png_info(data)  # libpng refused it (e.g. a CRC error): say exactly why
    if arr is None or arr.dtype != np.uint8 or arr.ndim not in (2, 3) or (arr.ndim == 3 and arr.shape[2] != 3):
        return None
    # BGR -> RGB: cvtColor gives the same pixels as arr[:, :, ::-1] but contiguous, 20x
    # faster than copying that view later (1.9 ms vs 0.1 ms for a 640x480 photo).
    return arr if arr.ndim == 2 else cv2.cvtColor(arr, cv2.COLOR_BGR2RGB)


def _decode_pillow(data: bytes, size, draft_box: tuple[int, int] | None = None) -> np.ndarray:
    """Pillow's decode. A JPEG decodes at reduced resolution: with a target ``size``, at
    least twice it on both sides (training); with ``draft_box`` (display), at least the
    image's fit in that ``(width, height)`` box, aspect ratio kept."""
    if data[:8] == PNG_SIG:
        png_info(data)
    try:
        im = Image.open(io.BytesIO(data))
    except Image.DecompressionBombError as e:
        raise DecodeError(f"image too large to decode safely ({e})") from None
    except Exception as e:  # noqa: BLE001 - Pillow raises many types for garbage
        head = data[:16]
        if head.lstrip()[:1] in (b"<", b"{") or all(32 <= b < 127 or b in (9, 10, 13) for b in head):
            raise DecodeError("not an image (the file holds text)") from None
        raise DecodeError(f"not a recognised image file ({type(e).__name__})") from None
    if im.format not in SUPPORTED_FORMATS:
        raise DecodeError(f"unsupported image format {im.format}")
    w, h = im.size
    limit = MAX_DECODE_MB * 1024 * 1024
    per_pixel = bytes_needed_per_pixel(im.mode, size is not None)
    if im.format in ("JPEG", "MPO"):
        side = 2 * max(size) if size else (max(draft_box) if draft_box else 0)
        if w * h * per_pixel > limit:  # over the budget: at most what fits it
            fit = int(max(w, h) * (limit / (w * h * per_pixel)) ** 0.5)
            # min, not max: a display size (decode_to_fit's draft_box) must not be raised
            # to the budget's side, or a 9000x9000 JPEG that trains fine (it has a target
            # size) fails as a thumbnail and is reported as a bad file while it is used.
            side = min(side, fit) if side else fit
        if side and draft_box and not size:
            # The budget's side caps the box; EXIF orientations 5-8 turn the image later,
            # so it must cover the fit either way round.
            box = (min(side, draft_box[0]), min(side, draft_box[1]))
            scale = min(1.0, max(_fit_scale(w, h, box), _fit_scale(h, w, box)))
            im.draft(None, (max(1, math.ceil(w * scale)), max(1, math.ceil(h * scale))))
            w, h = im.size
            per_pixel = bytes_needed_per_pixel(im.mode, size is not None)
        elif side:
            im.draft(None, (min(side, w), min(side, h)))
            w, h = im.size
            per_pixel = bytes_needed_per_pixel(im.mode, size is not None)
    if w * h * per_pixel > limit:
        raise DecodeError(f"image too large to decode safely: {w}x{h} pixels ({im.mode}) would need "
                          f"{w * h * per_pixel / 2**20:.0f} MB; the limit is {MAX_DECODE_MB} MB")
    try:
        im.load()
    except Exception as e:  # noqa: BLE001 - OSError, SyntaxError, ValueError, zlib errors...
        raise DecodeError(f"corrupt or truncated {im.format} file ({e})") from None
    try:
        orientation = im.getexif().get(0x0112, 1)
    except Exception:  # noqa: BLE001 - a broken EXIF block only loses the rotation
        orientation = 1
    if orientation in (2, 3, 4, 5, 6, 7, 8):
        im = ImageOps.exif_transpose(im)
    if size and im.mode in RESIZE_FIRST + ("RGBA", "LA") and not enlarges(im.height, im.width, size):
        # Shrink in the source mode first: a 9000x9000 image is never copied at full size.
        # (An enlargement is left to _finish, which does it with OpenCV as for every file.)
        im = resize_image(im, size)
    return to_8bit(im)


def _finish(arr: np.ndarray, size, color_mode: str) -> np.ndarray:
    """Resize (:func:`training.data.pixels.resize_array`) and convert a (H, W) or (H, W, 3) uint8 array."""
    if size is not None and arr.shape[:2] != tuple(size):
        arr = resize_array(arr, size)
    if color_mode == "grayscale":
        out = arr if arr.ndim == 2 else to_gray(arr)
        return np.ascontiguousarray(out)[:, :, None]
    if arr.ndim == 2:
        import cv2

        return cv2.cvtColor(np.ascontiguousarray(arr), cv2.COLOR_GRAY2RGB)  # 40x faster than np.repeat
    return np.ascontiguousarray(arr)


def resize_array_images(images: np.ndarray, size, color_mode: str) -> np.ndarray:
    """(N, H, W[, C]) uint8 arrays (IDX/npz) to (N, h, w, c), with the same resize as files."""
    size = normalize_size(size)
    if images.ndim == 3:
        images = images[..., None]
    if images.shape[-1] == 4:
        images = images[..., :3]
    n = len(images)
    c = 1 if color_mode == "grayscale" else 3
    if images.shape[1:3] == size:
        src = images
    else:
        src = np.stack([resize_array(im[:, :, 0] if im.shape[2] == 1 else im, size)
                        .reshape(size + (im.shape[2],)) for im in images]) if n else \
            np.zeros((0,) + size + (images.shape[-1],), np.uint8)
    if src.shape[-1] == c:
        return np.ascontiguousarray(src)
    if c == 1:
        return to_gray(src)[..., None]
    return np.repeat(src, 3, axis=-1)
