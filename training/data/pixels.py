"""Pixels after decoding: Pillow modes to uint8 arrays, the one resize of decoded images,
grey from RGB, and the memory a decode needs per source pixel.

``training.data.decode`` reads and decodes files; everything that changes pixels once
they are decoded is here, so training, previews and arrays given directly get the same
pixels.
"""
from __future__ import annotations

import numpy as np
from PIL import Image

# Pillow's in-memory bytes per pixel: multi-band modes are stored as 4 bytes (RGB is RGBX).
BYTES_PER_PIXEL = {"1": 1, "L": 1, "P": 1, "I;16": 2, "I;16L": 2, "I;16B": 2, "I;16N": 2}
RESIZE_FIRST = ("L", "RGB", "I", "F", "CMYK", "YCbCr")


def bytes_needed_per_pixel(mode: str, resizing: bool) -> int:
    """Peak bytes per source pixel while decoding: Pillow's image plus full-size copies.

    Modes in ``RESIZE_FIRST`` are shrunk before any conversion; RGBA/LA resizing makes
    a premultiplied copy; palette and 16-bit images are converted at full size; without
    a target size the returned array is a full-size copy too.
    """
    bpp = BYTES_PER_PIXEL.get(mode, 4)
    if resizing and mode in RESIZE_FIRST:
        extra = 0
    elif mode in ("1", "L"):
        extra = 1
    elif mode.startswith("I;16"):
        extra = 6
    else:
        extra = 4
    return bpp + extra + (0 if resizing else 3)


def to_8bit(im: Image.Image) -> np.ndarray:
    """uint8 (H, W) grey or (H, W, 3) RGB from any Pillow mode."""
    mode = im.mode
    if mode.startswith("I;16"):
        a = np.asarray(im).astype(np.uint32)
        return ((a * 255 + 32767) // 65535).astype(np.uint8)
    if mode in ("I", "F"):
        a = np.asarray(im, dtype=np.float64)
        top = a.max() if a.size else 0
        scale = 255.0 if (mode == "F" and top <= 1.0) else (255 / 65535 if top > 255 else 1.0)
        return np.clip(a * scale + 0.5, 0, 255).astype(np.uint8)
    if mode in ("1", "L"):
        return np.asarray(im.convert("L"))
    if mode in ("P", "PA") and ("transparency" in im.info or mode == "PA"):
        im, mode = im.convert("RGBA"), "RGBA"
    if mode in ("LA", "La", "RGBA", "RGBa"):
        im = im.convert("RGBA") if mode != "RGBA" else im
        a = np.asarray(im).astype(np.uint16)
        alpha = a[:, :, 3:4]
        # Composite on white: transparent areas of icons/logos are usually meant as paper.
        rgb = (a[:, :, :3] * alpha + 255 * (255 - alpha) + 127) // 255
        return rgb.astype(np.uint8)
    return np.asarray(im if mode == "RGB" else im.convert("RGB"))


def resize_image(im: Image.Image, size: tuple[int, int]) -> Image.Image:
    h, w = size
    if im.size == (w, h):
        return im
    # Shrink by whole factors first (box average), then bilinear: what reducing_gap=3 does,
    # but done here because Pillow's RGBA resize first copies the full-size image.
    fx, fy = max(1, im.width // (3 * w)), max(1, im.height // (3 * h))
    if fx > 1 or fy > 1:
        im = im.reduce((fx, fy))
    return im.resize((w, h), Image.Resampling.BILINEAR)


def enlarges(h: int, w: int, size: tuple[int, int]) -> bool:
    """True when resizing ``(h, w)`` to ``size`` enlarges (or keeps) both sides."""
    return size[0] >= h and size[1] >= w


def resize_array(arr: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """Resize a uint8 ``(H, W)`` or ``(H, W, 3)`` array to ``size`` (the one resize of
    decoded pixels).

    Enlarging (both sides grow, e.g. 28x28 MNIST to 128x128) uses OpenCV's bilinear
    ``INTER_LINEAR``: the same half-pixel-centred formula as Pillow's ``BILINEAR`` (pixels
    within 1 level of it, from OpenCV's fixed-point weights), 7x faster here (34 us vs
    243 us per 28->128 image) and without the GIL. Shrinking stays on Pillow's reduce +
    widened bilinear (antialiased), where OpenCV's bilinear would alias and ``INTER_AREA``
    would change the pixels of every photo dataset; and Pillow's path already shrinks huge
    images before they are copied.
    """
    h, w = size
    if arr.shape[:2] == (h, w):
        return arr
    if enlarges(arr.shape[0], arr.shape[1], size):
        import cv2

        out = cv2.resize(np.ascontiguousarray(arr), (w, h), interpolation=cv2.INTER_LINEAR)
        return out.reshape((h, w) + arr.shape[2:])
    return np.asarray(resize_image(Image.fromarray(np.ascontiguousarray(arr)), size))


def to_gray(rgb: np.ndarray) -> np.ndarray:
    """ITU-R 601 luma with Pillow's exact integer arithmetic, for (..., 3) uint8 arrays."""
    r, g, b = (rgb[..., i].astype(np.uint32) for i in range(3))
    return ((r * 19595 + g * 38470 + b * 7471 + 0x8000) >> 16).astype(np.uint8)
