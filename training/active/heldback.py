"""Which labels a round holds back to estimate accuracy, and when a round can start.

A label is held back when a stable hash of its image's key (its path) falls under the
share, so the held-back set only grows as labels are added: the estimated-accuracy curve
compares like with like from round to round instead of re-drawing its test set each time.
The images that would be held back are not ranked by the strategy: the queue shows them as
random checks (``training.active.queue``), so the held-back labels are a random sample and
the estimate is unbiased; it is noisy with few held-back labels: its count is reported with
it, and :func:`estimate_range` says how far that noise alone may move it.
"""
from __future__ import annotations

import zlib

import numpy as np

# 10 %: with one random check in 10 queue items (training.active.queue) the held-back
# labels keep about this share. Chosen on the tuning pool with the checks (docs/BENCHMARKS.md,
# "Active learning", fourth pass): 15 % and 1 in 7 cost BADGE ~100 labels there.
HOLDOUT_SHARE = 0.10
# The hash's salt in the app and the CLI (the benchmark varies it with its seed).
HOLDOUT_SALT = 0
# Labels each class needs before the first round (training needs examples of every class).
MIN_PER_CLASS = 5
# Labels of a class that always stay in training, whatever the hash says.
MIN_TRAIN_PER_CLASS = 3


def key_fraction(key: str, seed: int = 0) -> float:
    """A stable number in [0, 1) for ``key`` (the same on every run and machine)."""
    return zlib.crc32(f"{seed}:{key}".encode("utf-8", "surrogatepass")) / 2**32


def held_back_mask(keys, labels, share: float = HOLDOUT_SHARE, seed: int = 0) -> np.ndarray:
    """Which of the labelled samples ``keys`` (with class ``labels``) are held back.

    Each class keeps at least ``MIN_TRAIN_PER_CLASS`` labels in training: the ones with
    the largest hash fractions go back to training first.
    """
    labels = np.asarray(labels, np.int64)
    if not 0.0 <= share < 1.0:
        raise ValueError(f"share must be in [0, 1). Received: share={share}")
    frac = np.array([key_fraction(str(k), seed) for k in keys], np.float64)
    held = frac < share
    for c in np.unique(labels):
        rows = np.flatnonzero(labels == c)
        too_many = int(held[rows].sum()) - max(0, len(rows) - MIN_TRAIN_PER_CLASS)
        if too_many > 0:
            give_back = rows[held[rows]]
            give_back = give_back[np.argsort(-frac[give_back], kind="stable")][:too_many]
            held[give_back] = False
    return held


def estimate_range(accuracy: float, held_back: int, z: float = 1.645) -> tuple[float, float]:
    """The 90 % (``z``) Wilson score interval of an accuracy measured on ``held_back``
    labels: where the accuracy on the whole pool may lie, given only the sampling noise of
    so few labels (80 % on 100 labels: 73-86 %). Wilson, not the normal approximation, so
    that 100 % on 8 labels is not read as certain."""
    n = max(0, int(held_back))
    if n == 0:
        return 0.0, 1.0
    p = min(1.0, max(0.0, float(accuracy)))
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z / (1 + z * z / n) * np.sqrt(p * (1 - p) / n + z * z / (4 * n * n))
    return float(max(0.0, centre - half)), float(min(1.0, centre + half))


def labels_needed(counts, min_per_class: int = MIN_PER_CLASS) -> dict:
    """``{class: more labels needed}`` for the classes below ``min_per_class`` (empty
    when a round can start). ``counts`` is ``{class name: labels given}``."""
    return {name: int(min_per_class - n) for name, n in counts.items() if n < min_per_class}


def needed_message(needed: dict, min_per_class: int = MIN_PER_CLASS) -> str:
    """What the person has to do before "Label next" can rank (one line)."""
    if not needed:
        return ""
    total = sum(needed.values())
    parts = ", ".join(f"{name}: {n}" for name, n in list(needed.items())[:6])
    more = "…" if len(needed) > 6 else ""
    return (f"Label {total} more image{'s' if total != 1 else ''} before the model can suggest "
            f"what to label next ({min_per_class} per class; still needed: {parts}{more}).")
