"""numpy arrays and image files to ``QImage`` (thread-safe: no ``QPixmap`` here), for the
workers that decode off the GUI thread and for the views that show the result."""
from __future__ import annotations

import numpy as np
from PySide6.QtGui import QImage


def image_to_qimage(arr: np.ndarray) -> QImage:
    """A deep-copied ``QImage`` from a uint8 (H, W), (H, W, 1), (H, W, 3) or (H, W, 4) array."""
    a = np.ascontiguousarray(arr)
    if a.ndim == 3 and a.shape[2] == 1:
        a = np.ascontiguousarray(a[:, :, 0])
    h, w = a.shape[:2]
    if a.ndim == 2:
        fmt, stride = QImage.Format.Format_Grayscale8, w
    elif a.shape[2] == 4:
        fmt, stride = QImage.Format.Format_RGBA8888, w * 4
    else:
        fmt, stride = QImage.Format.Format_RGB888, w * 3
    # copy(): the QImage must not keep pointing into the numpy buffer.
    return QImage(a.data, w, h, stride, fmt).copy()


def load_thumbnail(path: str, edge: int) -> QImage:
    """Decode ``path`` into a QImage no larger than ``edge`` (aspect kept). Raises on failure.

    Pillow's ``draft()`` lets huge JPEGs decode at reduced resolution, so a 9000x9000 photo
    costs a few MB here, not 240 MB.
    """
    from PIL import Image, ImageOps

    with Image.open(path) as img:
        img.draft("RGB", (edge * 2, edge * 2))
        img = ImageOps.exif_transpose(img)
        if img.mode in ("I;16", "I;16B", "I;16L", "I"):
            arr = np.asarray(img, dtype=np.float64)
            top = arr.max() or 1.0
            img = Image.fromarray((arr * (255.0 / top)).astype(np.uint8))
        if img.mode in ("RGBA", "LA", "P", "PA"):
            img = img.convert("RGBA")
            white = Image.new("RGBA", img.size, (255, 255, 255, 255))
            img = Image.alpha_composite(white, img).convert("RGB")
        elif img.mode not in ("RGB", "L"):
            img = img.convert("RGB")
        img.thumbnail((edge, edge), Image.Resampling.BILINEAR)
        return image_to_qimage(np.asarray(img))
