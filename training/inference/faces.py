"""Face detection for the Classify panel (OpenCV's Haar cascade, seed 002's human
detector), used by the compute service's prediction and the large-preview loader.

Tuned on real photos (``bench/face_detection.py``: scikit-image's bundled astronaut and
cameraman, 100 LFW faces, and 119 non-face images such as coffee, the cat, the rocket,
coins, textures at 1x and 2x, and 100 LFW non-face patches: 138 images). The plain cascade
(``minNeighbors=5``, 24 px minimum) found 28 "faces" in those non-faces, the kind of
error that put a face on an apple and two on The Starry Night. A face is now kept only
when it is at least a tenth of the shorter image side and the eye cascade finds an eye
in its upper part: no false face there, for 6 points of recall (see docs/BENCHMARKS.md).

The eye cascade's window is 20x20 px, so in a small face (a football player 37 px wide in
a 342x548 photo) it could find no eye and every small face was dropped. The face's upper
part is now enlarged to ``EYE_FACE_PX`` wide before the eye check: 37 px faces are found
again (none → 0.66 of them on held-out images), still with no false face on the non-faces
(docs/BENCHMARKS.md section 13a).
"""
from __future__ import annotations

import os
import threading

import numpy as np

_local = threading.local()  # one CascadeClassifier per thread: OpenCV objects aren't shared

SCALE_FACTOR = 1.1
MIN_NEIGHBORS = 4          # the eye check below removes what a lower threshold lets in
MIN_FACE_FRACTION = 0.10   # of the shorter image side (a face smaller than that is noise)
MIN_FACE_PX = 24           # the cascade's own window
EYE_NEIGHBORS = 3
EYE_FACE_PX = 120          # a face narrower than this is enlarged for the eye check


def _cascade(name: str):
    import cv2

    cached = getattr(_local, name, None)
    if cached is None:
        xml = os.path.join(cv2.data.haarcascades, name)
        cached = cv2.CascadeClassifier(xml)
        if cached.empty():
            raise RuntimeError(f"Could not load OpenCV's detector from {xml}")
        setattr(_local, name, cached)
    return cached


def _has_eye(gray: np.ndarray, x: int, y: int, fw: int, fh: int,
             face_px: int = EYE_FACE_PX) -> bool:
    """An eye in the upper ~60% of the face box (where eyes are on a frontal face), looked
    for at ``face_px`` wide at least (see the module docstring)."""
    import cv2

    roi = np.ascontiguousarray(gray[y:y + int(fh * 0.6), x:x + fw])
    if roi.size == 0:
        return False
    scale = max(1.0, face_px / max(1, fw))
    if scale > 1.0:
        roi = cv2.resize(roi, None, fx=scale, fy=scale, interpolation=cv2.INTER_LINEAR)
    side = max(4, int(fw * scale) // 10)
    eyes = _cascade("haarcascade_eye.xml").detectMultiScale(
        roi, scaleFactor=1.1, minNeighbors=EYE_NEIGHBORS, minSize=(side, side))
    return len(eyes) > 0


def detect_faces(image: np.ndarray, *, min_neighbors: int = MIN_NEIGHBORS,
                 min_fraction: float = MIN_FACE_FRACTION, confirm_eyes: bool = True,
                 eye_face_px: int = EYE_FACE_PX) -> list[list[float]]:
    """Frontal faces in an RGB/gray uint8 image (see the module docstring for the tuning;
    the keyword arguments exist for the benchmark, which also measures the old settings).

    Returns:
        ``[[x, y, w, h], …]`` as fractions of the image width/height.
    """
    import cv2

    cascade = _cascade("haarcascade_frontalface_default.xml")
    gray = image if image.ndim == 2 else (
        image[:, :, 0] if image.shape[2] == 1 else cv2.cvtColor(image, cv2.COLOR_RGB2GRAY))
    gray = np.ascontiguousarray(gray)
    h, w = gray.shape[:2]
    if min(h, w) < MIN_FACE_PX:  # smaller than the cascade's window: nothing can be found
        return []
    side = max(MIN_FACE_PX, int(min_fraction * min(h, w)))
    faces = cascade.detectMultiScale(gray, scaleFactor=SCALE_FACTOR, minNeighbors=min_neighbors,
                                     minSize=(side, side))
    out = []
    for (x, y, fw, fh) in np.asarray(faces).reshape(-1, 4):
        if confirm_eyes and not _has_eye(gray, int(x), int(y), int(fw), int(fh), eye_face_px):
            continue
        out.append([x / w, y / h, fw / w, fh / h])
    return out
