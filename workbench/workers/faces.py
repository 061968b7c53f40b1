"""Face detection for the Classify panel (OpenCV's Haar cascade, seed 002's human
detector), shared by the prediction worker and the large-preview loader."""
from __future__ import annotations

import os
import threading

import numpy as np

_local = threading.local()  # one CascadeClassifier per thread: OpenCV objects aren't shared


def detect_faces(image: np.ndarray) -> list[list[float]]:
    """Frontal faces in an RGB/gray uint8 image (seed 002's human detector).

    Returns:
        ``[[x, y, w, h], …]`` as fractions of the image width/height.
    """
    import cv2

    cascade = getattr(_local, "cascade", None)
    if cascade is None:
        xml = os.path.join(cv2.data.haarcascades, "haarcascade_frontalface_default.xml")
        cascade = cv2.CascadeClassifier(xml)
        if cascade.empty():
            raise RuntimeError(f"Could not load OpenCV's face detector from {xml}")
        _local.cascade = cascade
    gray = image if image.ndim == 2 else (
        image[:, :, 0] if image.shape[2] == 1 else cv2.cvtColor(image, cv2.COLOR_RGB2GRAY))
    h, w = gray.shape[:2]
    if min(h, w) < 24:  # smaller than the cascade's window: nothing can be found
        return []
    faces = cascade.detectMultiScale(np.ascontiguousarray(gray), scaleFactor=1.1,
                                     minNeighbors=5, minSize=(24, 24))
    return [[x / w, y / h, fw / w, fh / h] for (x, y, fw, fh) in np.asarray(faces).reshape(-1, 4)]
