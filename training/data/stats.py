"""Cheap facts about a dataset's images (header reads only) and a default input shape."""
from __future__ import annotations

from collections import Counter

import numpy as np

GRAY_MODES = {"1", "L", "LA", "La", "I", "I;16", "I;16L", "I;16B", "I;16N", "F"}


def _sample_rows(n: int, sample: int) -> np.ndarray:
    if n <= sample:
        return np.arange(n)
    return np.linspace(0, n - 1, sample).round().astype(int)  # spread over classes (index is class-sorted)


def _header(path: str):
    """(width, height, mode, format) from the file header, or None."""
    from PIL import Image

    try:
        with Image.open(path) as im:
            w, h = im.size
            mode = im.mode
            if mode == "P":
                # A palette image is grey when every palette entry has R == G == B.
                pal = im.getpalette() or []
                if pal and all(pal[i] == pal[i + 1] == pal[i + 2] for i in range(0, len(pal) - 2, 3)):
                    mode = "L"
            try:
                if im.getexif().get(0x0112, 1) in (5, 6, 7, 8):
                    w, h = h, w  # shown rotated by 90 degrees
            except Exception:  # noqa: BLE001 - broken EXIF only loses the rotation
                pass
            return w, h, mode, im.format
    except Exception:  # noqa: BLE001 - unreadable files are reported by open_images
        return None


image_header = _header  # public name: the data-health outlier check reads every header


def image_stats(index, sample: int = 200) -> dict:
    """Image size statistics from up to ``sample`` headers (no decoding).

    Returns:
        ``{"sampled", "width": {min, median, max}, "height": {...}, "modes": {mode: n},
        "formats": {fmt: n}}``; for array sources the exact array shape.
    """
    if index.arrays is not None:
        a = index.arrays
        h, w = int(a.shape[1]), int(a.shape[2])
        mode = "L" if a.ndim == 3 or a.shape[-1] == 1 else "RGB"
        return {"sampled": len(a), "width": {"min": w, "median": w, "max": w},
                "height": {"min": h, "median": h, "max": h}, "modes": {mode: len(a)},
                "formats": {index.kind: len(a)}}
    heads = [_header(index.paths[i]) for i in _sample_rows(len(index), sample)]
    heads = [x for x in heads if x]
    out = {"sampled": len(heads), "modes": dict(Counter(x[2] for x in heads)),
           "formats": dict(Counter(str(x[3]) for x in heads))}
    for key, col in (("width", 0), ("height", 1)):
        vals = [x[col] for x in heads]
        out[key] = {"min": min(vals), "median": int(np.median(vals)), "max": max(vals)} if vals else \
            {"min": 0, "median": 0, "max": 0}
    return out


def suggest_input(index, sample: int = 48, cap: int = 128) -> tuple[tuple[int, int], str]:
    """A default ``((height, width), color_mode)`` for models trained on ``index``.

    Grayscale when every sampled image is grey (MNIST-like data gets 28x28 grayscale);
    small images (both sides <= 64) keep their median size; larger ones are resized to at
    most ``cap`` on each side.
    """
    stats = image_stats(index, sample)
    if not stats["sampled"]:
        return (cap, cap), "rgb"
    gray = all(m in GRAY_MODES for m in stats["modes"])
    h, w = stats["height"]["median"], stats["width"]["median"]
    if max(h, w) > 64:
        h, w = min(h, cap), min(w, cap)
        if max(stats["height"]["max"], stats["width"]["max"]) > cap or h != w:
            h = w = min(cap, max(h, w))
    return (max(1, h), max(1, w)), "grayscale" if gray else "rgb"
