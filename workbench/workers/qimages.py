"""numpy arrays to ``QImage``, on the GUI thread: the pool's tasks decode images to uint8
arrays, and the views make the ``QImage`` (and ``QPixmap``) from them."""
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
