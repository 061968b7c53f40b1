"""Stratified, seeded train/validation/test split.

Keras' ``validation_split`` takes a seeded tail slice of the shuffled files, which is not
stratified: a rare class can vanish from training. Here every class is split on its own,
so each class keeps its share in every split and always has images in train.
"""
from __future__ import annotations

import math
import zlib

import numpy as np

from .index import TEST, TRAIN, VALIDATION


# Training refuses a class with fewer labelled images (training.data.sources.check_trainable).
# Two is the least that lets a model see a class more than once; a class needs three to
# also appear in validation and test (split_sizes), which a warning says.
MIN_IMAGES_PER_CLASS = 2


def _count(n: int, fraction: float) -> int:
    # Round half up (Python's round() is banker's rounding: 2.5 -> 2).
    return int(math.floor(n * fraction + 0.5))


def split_sizes(n: int, val_fraction: float, test_fraction: float) -> tuple[int, int, int]:
    """``(train, val, test)`` counts for one class of ``n`` images.

    A class with at least three images gets at least one validation and one test image
    when the fraction asks for any; train always keeps at least one image.
    """
    if n < 3:
        return n, 0, 0
    n_val, n_test = _count(n, val_fraction), _count(n, test_fraction)
    if val_fraction > 0:
        n_val = max(1, n_val)
    if test_fraction > 0:
        n_test = max(1, n_test)
    while n - n_val - n_test < 1:  # only reachable with extreme fractions
        if n_test >= n_val and n_test > 0:
            n_test -= 1
        else:
            n_val -= 1
    return n - n_val - n_test, n_val, n_test


def stratified_split(labels: np.ndarray, class_names: list[str], val_fraction: float = 0.1,
                     test_fraction: float = 0.1, seed: int = 42) -> tuple[np.ndarray, list[str]]:
    """Assign every sample to train, validation or test, class by class.

    Args:
        labels: int array of class indices, one per sample (in a stable order, e.g.
            sorted paths, so the same seed gives the same split on every machine).
        class_names: names for the warnings.
        val_fraction: share of each class for validation.
        test_fraction: share of each class for test.
        seed: the same seed and labels give the same split.

    Returns:
        ``(splits, warnings)``: a uint8 array of ``TRAIN``/``VALIDATION``/``TEST`` and a
        message for every class too small to appear in a split it should appear in.
    """
    labels = np.asarray(labels)
    splits = np.full(len(labels), TRAIN, dtype=np.uint8)
    warnings: list[str] = []
    for c, name in enumerate(class_names):
        rows = np.flatnonzero(labels == c)
        if len(rows) == 0:
            continue
        # Seed per class from the class name, so adding a class leaves the others' split alone.
        rng = np.random.default_rng([seed & 0xFFFFFFFF, zlib.crc32(name.encode("utf-8", "surrogatepass"))])
        rows = rows[rng.permutation(len(rows))]
        _n_train, n_val, n_test = split_sizes(len(rows), val_fraction, test_fraction)
        splits[rows[:n_val]] = VALIDATION
        splits[rows[n_val:n_val + n_test]] = TEST
        missing = [s for s, frac, k in (("validation", val_fraction, n_val), ("test", test_fraction, n_test))
                   if frac > 0 and k == 0]
        if missing:
            warnings.append(f"class {name!r} has only {len(rows)} image(s): too few to split, "
                            f"all used for training (none in {' or '.join(missing)})")
    return splits, warnings
