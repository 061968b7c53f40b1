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
    """Decode ``path`` into a QImage no larger than ``edge`` (aspect kept). Raises the
    core's ``DecodeError`` (its ``reason`` is what to show) on failure.

    The core's ``decode_to_fit`` is the training decode (EXIF, 16-bit scaled by 65535,
    alpha on white); big JPEGs decode at reduced resolution, so a 9000x9000 photo costs a
    few MB, not 240 MB.
    """
    from training.data import decode_to_fit

    return image_to_qimage(decode_to_fit(path, edge, enlarge=False))
