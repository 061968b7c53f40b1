"""Face detection precision and recall on real photos, before and after tuning.

    python bench/face_detection.py

Images (all bundled with scikit-image, no download): faces = ``astronaut``, ``camera``
(the cameraman) and the 100 face crops of ``lfw_subset`` (25x25, upscaled to 100x100);
non-faces = 19 photos and textures (coffee, chelsea the cat, rocket, coins, horse, moon,
page, text, clock, immunohistochemistry, brick, grass, gravel, colorwheel, logo, cat,
hubble_deep_field, retina, stereo_motorcycle) at 1x and 2x, and the 100 non-face crops of
``lfw_subset``. Box level: a face image counts one true positive when at least one box is
found (extra boxes are false positives); every box on a non-face is a false positive.
"""
from __future__ import annotations

import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

NON_FACES = ("coffee", "chelsea", "rocket", "coins", "horse", "moon", "page", "text", "clock",
             "immunohistochemistry", "brick", "grass", "gravel", "colorwheel", "logo", "cat",
             "hubble_deep_field", "retina", "stereo_motorcycle")


def _gray(a):
    import cv2
    import numpy as np

    if isinstance(a, tuple):
        a = a[0]
    if a.dtype == bool:
        a = a.astype(np.uint8) * 255
    if a.ndim == 3:
        a = cv2.cvtColor(np.ascontiguousarray(a[..., :3]), cv2.COLOR_RGB2GRAY)
    return np.ascontiguousarray(a)


def images():
    import cv2
    import numpy as np
    import skimage.data as d

    lfw = [cv2.resize((x * 255).astype(np.uint8), (100, 100), interpolation=cv2.INTER_CUBIC)
           for x in d.lfw_subset()]
    faces = [_gray(d.astronaut()), _gray(d.camera())] + lfw[:100]
    photos = [_gray(getattr(d, n)()) for n in NON_FACES]
    non = photos + [cv2.resize(g, None, fx=2, fy=2) for g in photos] + lfw[100:]
    return faces, non


def score(detect, faces, non) -> dict:
    tp = fp = 0
    for g in faces:
        k = len(detect(g))
        tp += min(k, 1)
        fp += max(k - 1, 0)
    fp += sum(len(detect(g)) for g in non)
    return {"tp": tp, "fp": fp, "precision": tp / (tp + fp) if tp + fp else 0.0,
            "recall": tp / len(faces)}


def main() -> int:
    from training.inference.faces import detect_faces

    faces, non = images()
    configs = {
        "before (minNeighbors 5, min 24 px)": lambda g: detect_faces(
            g, min_neighbors=5, min_fraction=0.0, confirm_eyes=False),
        "min size 10% of the shorter side only": lambda g: detect_faces(
            g, min_neighbors=5, confirm_eyes=False),
        "after (minNeighbors 4, min 10%, eye check)": detect_faces,
    }
    print(f"{len(faces)} face images, {len(non)} non-face images")
    for name, fn in configs.items():
        t = time.perf_counter()
        s = score(fn, faces, non)
        ms = (time.perf_counter() - t) * 1000 / (len(faces) + len(non))
        print(f"{name:45s} precision {s['precision']:.3f}  recall {s['recall']:.3f}  "
              f"(TP {s['tp']}, FP {s['fp']}, {ms:.1f} ms/image)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
