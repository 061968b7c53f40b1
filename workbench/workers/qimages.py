"""numpy arrays to ``QImage``: the pool's tasks decode images to uint8 arrays, and the
views make the ``QImage`` (and ``QPixmap``) from them on the GUI thread. The one exception
is :func:`fitted_qimage`, which the labelling previews decoded ahead call on their pool
thread: a ``QImage`` (unlike a ``QPixmap``) may be made off the GUI thread, and each is
handed over once, then only touched by the GUI thread (``docs/ARCHITECTURE.md``)."""
from __future__ import annotations

import numpy as np
from PySide6.QtCore import QSize, Qt
from PySide6.QtGui import QImage

SMALL_EDGE = 64   # images smaller than this are enlarged without smoothing (crisp pixels)


def fit_mode(width: int, height: int) -> Qt.TransformationMode:
    """How an image of this size is scaled to fit a preview: smooth, but a tiny one
    (an icon, a 28x28 digit) keeps its pixels sharp."""
    return (Qt.TransformationMode.FastTransformation if max(width, height) < SMALL_EDGE
            else Qt.TransformationMode.SmoothTransformation)


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


def fitted_qimage(arr: np.ndarray, fit: tuple[int, int] | None) -> QImage:
    """The ``QImage`` of ``arr`` scaled to fit ``fit`` (``(width, height)``, aspect kept; None:
    as is), as the preview shows it. Safe on a pool thread (PySide releases the GIL while
    Qt converts and scales)."""
    image = image_to_qimage(arr)
    if fit is None or image.isNull():
        return image
    target = image.size().scaled(QSize(*fit), Qt.AspectRatioMode.KeepAspectRatio)
    if target == image.size() or target.isEmpty():
        return image
    return image.scaled(target, Qt.AspectRatioMode.IgnoreAspectRatio, fit_mode(image.width(), image.height()))
