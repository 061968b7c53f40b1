"""Are horizontal flips safe for this data? A check on the images themselves.

Auto used to decide by colour alone: flips for colour photos, none for grayscale ("they
change digits and letters"). But Fashion-MNIST is grayscale and mirror-safe (a shirt is
a shirt either way round), and faces too, while a grayscale set of letters is not ("b"
and "d"). The question is whether telling the classes apart needs left-right
orientation. So: a linear classifier (shrinkage LDA, closed form) on small grayscale
thumbnails, cross-validated, once on the thumbnails and once on mirror-symmetric
features of them (``x + mirror(x)`` and ``|x - mirror(x)|``, which a flip does not
change). When the symmetric features lose accuracy beyond chance (McNemar's test on the
images one got right and the other wrong, z > ``Z_UNSAFE``), orientation carries class
information and flips would hurt; otherwise they are safe.

Measured (8x8 thumbnails, 3 folds): scikit-learn's digits z = +5.5 (unsafe: a mirrored
2 is no 2), 3,000 Fashion-MNIST images z = -1.2 and scikit-image's faces vs non-faces
z = +0.4 (both safe). It reads up to ``SAMPLE`` training images at 8x8 (a second or
two); no TensorFlow.
"""
from __future__ import annotations

import logging
import warnings
from dataclasses import asdict, dataclass

import numpy as np

log = logging.getLogger(__name__)

THUMB = (8, 8)
SAMPLE = 2000
FOLDS = 3
Z_UNSAFE = 2.0
MIN_IMAGES = 60  # fewer than this: too little to tell; Auto falls back to the colour rule


@dataclass
class MirrorCheck:
    """The outcome of :func:`mirror_check`.

    Attributes:
        safe: flips keep the classes apart as well as the originals (None: not decided).
        accuracy: cross-validated accuracy on the thumbnails.
        symmetric_accuracy: the same on mirror-symmetric features.
        z: McNemar's statistic (positive: the symmetric features lose).
        images: images used.
    """

    safe: bool | None
    accuracy: float | None = None
    symmetric_accuracy: float | None = None
    z: float | None = None
    images: int = 0

    def to_dict(self) -> dict:
        return asdict(self)


def mirror_check_arrays(thumbs: np.ndarray, labels, seed: int = 0) -> MirrorCheck:
    """:func:`mirror_check` on ``(n, h, w)`` grayscale thumbnails and their labels."""
    from sklearn.discriminant_analysis import LinearDiscriminantAnalysis
    from sklearn.model_selection import StratifiedKFold, cross_val_predict

    t = np.asarray(thumbs, np.float32).reshape(len(thumbs), *np.shape(thumbs)[1:3]) / 255.0
    y = np.asarray(labels, np.int64)
    counts = np.bincount(y) if len(y) else np.zeros(0, np.int64)
    if len(y) < MIN_IMAGES or (counts[counts > 0] < FOLDS).any() or (counts > 0).sum() < 2:
        return MirrorCheck(None, images=len(y))
    m = t[:, :, ::-1]
    raw = t.reshape(len(t), -1)
    sym = np.concatenate([(t + m).reshape(len(t), -1), np.abs(t - m).reshape(len(t), -1)], 1)
    folds = StratifiedKFold(FOLDS, shuffle=True, random_state=seed)
    with warnings.catch_warnings():  # collinear pixels (a constant border) only warn
        warnings.simplefilter("ignore")
        right_raw = cross_val_predict(LinearDiscriminantAnalysis(solver="lsqr", shrinkage="auto"),
                                      raw, y, cv=folds) == y
        right_sym = cross_val_predict(LinearDiscriminantAnalysis(solver="lsqr", shrinkage="auto"),
                                      sym, y, cv=folds) == y
    lost = int((right_raw & ~right_sym).sum())
    gained = int((~right_raw & right_sym).sum())
    z = (lost - gained) / np.sqrt(lost + gained) if lost + gained else 0.0
    return MirrorCheck(bool(z <= Z_UNSAFE), float(right_raw.mean()), float(right_sym.mean()),
                       float(z), len(y))


def mirror_check(index, seed: int = 0) -> MirrorCheck:
    """Read up to ``SAMPLE`` training images of ``index`` as 8x8 grayscale thumbnails and
    run :func:`mirror_check_arrays`; an unreadable sample gives ``safe=None``."""
    from training.data.images import ImageData
    from training.data.index import TRAIN

    splits = np.asarray(index.splits)
    rows = np.flatnonzero(splits == TRAIN)
    if len(rows) > SAMPLE:
        rows = np.sort(np.random.default_rng(seed).choice(rows, SAMPLE, replace=False))
    try:
        data = ImageData(index, THUMB, "grayscale", use_cache=False)
        try:
            x, kept = data.read(rows)
        finally:
            data.close()
    except Exception as exc:  # noqa: BLE001  (a check that cannot run decides nothing)
        log.warning("Mirror check skipped: %s", exc)
        return MirrorCheck(None)
    return mirror_check_arrays(x[..., 0], np.asarray(index.labels)[kept], seed)
