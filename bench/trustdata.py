"""Data for the "unknown" checks: real photos shipped inside scikit-image, and scikit-learn's
handwritten digits written out as image files (both installed packages, no network).

Used by ``bench/unknown_rates.py`` and the tests (``tests/training/trust/test_unknown.py``).
"""
from __future__ import annotations

import logging
from pathlib import Path

import numpy as np

log = logging.getLogger(__name__)

# skimage.data images bundled in the wheel (the others need pooch and a download).
PHOTOS = ("astronaut", "coffee", "chelsea", "rocket", "camera", "cat", "coins", "moon",
          "horse", "clock", "hubble_deep_field", "immunohistochemistry", "page", "text",
          "brick", "grass", "gravel", "retina", "cell", "colorwheel", "logo")


def write_photos(root, names=PHOTOS) -> list[Path]:
    """Save scikit-image's bundled sample images as PNGs under ``root``; returns the paths."""
    import skimage.data
    from PIL import Image

    root = Path(root)
    root.mkdir(parents=True, exist_ok=True)
    out = []
    for name in names:
        try:
            img = getattr(skimage.data, name)()
        except Exception as exc:  # noqa: BLE001 - an image missing from this version is skipped
            log.info("skimage.data.%s unavailable: %s", name, exc)
            continue
        if img.dtype != np.uint8:  # binary / float images
            img = (img.astype(np.float64) / max(float(img.max()), 1.0) * 255).astype(np.uint8)
        if img.ndim == 3 and img.shape[2] == 4:
            img = img[:, :, :3]
        path = root / f"{name}.png"
        Image.fromarray(img).save(path)
        out.append(path)
    return out


def write_digits(root, size: int = 16, per_class: int | None = None) -> Path:
    """scikit-learn's 8x8 digits (1,797 images) as ``size`` x ``size`` PNGs, one folder per digit."""
    from PIL import Image
    from sklearn.datasets import load_digits

    root = Path(root)
    digits = load_digits()
    seen = np.zeros(10, dtype=int)
    for i, (img, label) in enumerate(zip(digits.images, digits.target)):
        if per_class is not None and seen[label] >= per_class:
            continue
        seen[label] += 1
        folder = root / str(label)
        folder.mkdir(parents=True, exist_ok=True)
        pixels = (img / 16.0 * 255).astype(np.uint8)
        Image.fromarray(pixels).resize((size, size), Image.BILINEAR).save(folder / f"{i}.png")
    return root
