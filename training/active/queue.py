"""The "Label next" queue: the strategy's picks, with one random check in every few items.

A label is held back from training when its image's key hashes under the held-back share
(``training.active.heldback``). If the strategy ranked those images too, the held-back
labels would be the hard images the strategy picked, and the accuracy on them would read
0.14-0.18 below the test accuracy (measured before this rule; docs/BENCHMARKS.md, "Active
learning"). So the images that would be held back never go through the strategy: one item
in ``CHECK_EVERY`` of the queue is drawn among them at random (at a random place in each
block of ``CHECK_EVERY``, shown like any other item), and the rest of the queue is the
strategy's ranking of the others. The held-back labels are then a random sample of the
images and the estimate is unbiased whatever the strategy.

The app's rounds (``training.active.rounds``) and ``python -m training next`` build their
queue here, so a label given from either is held back (or not) the same way.
"""
from __future__ import annotations

import numpy as np

from training.active.heldback import HOLDOUT_SALT, HOLDOUT_SHARE, key_fraction
from training.active.strategies import DEFAULT_MEASURE, rank, uncertainty

# One queue item in CHECK_EVERY is a random check (~ HOLDOUT_SHARE of the labels given from
# the queue: 1/10 = 10 %), so the held-back share of the labels stays about what it was.
# 1 in 7 with a 15 % share until the fourth pass (docs/BENCHMARKS.md, "Active learning").
CHECK_EVERY = 10


def checks_note(every: int = CHECK_EVERY) -> str:
    """What the app and the CLI say about the checks (one sentence)."""
    return (f"1 image in {every} of the list is picked at random, whatever the ranking: its label "
            "is held back from training, and the model's accuracy on those labels is the estimate "
            "(a random sample, so the hard images the list shows do not pull it down)")


def holdout_candidates(keys, share: float = HOLDOUT_SHARE, salt: int = HOLDOUT_SALT) -> np.ndarray:
    """Which of the pool images ``keys`` would be held back once labelled (bool per key)."""
    return np.array([key_fraction(str(k), salt) < share for k in keys], bool)


def check_slots(count: int, rng, every: int = CHECK_EVERY) -> np.ndarray:
    """The queue places (sorted) that hold a random check: one at a random place in each
    full block of ``every`` of the ``count`` places."""
    if every < 2:
        raise ValueError(f"every must be at least 2. Received: every={every}")
    blocks = int(count) // every
    return np.arange(blocks, dtype=np.int64) * every + rng.integers(0, every, size=blocks)


def build_queue(strategy: str, probabilities, features=None, keys=None, count: int | None = None,
                seed: int = 0, batch: int | None = None, share: float = HOLDOUT_SHARE,
                salt: int = HOLDOUT_SALT, every: int = CHECK_EVERY, measure: str = DEFAULT_MEASURE,
                **rank_options) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The queue of pool positions, best first.

    Args:
        strategy, probabilities, features, count, seed, batch, measure, rank_options: as
            :func:`training.active.strategies.rank` (``batch``: the first ``batch`` places,
            labelled before the next round; the strategy spreads its picks among them).
        keys: a stable name per pool image (its path): decides which ones are checks.
        share, salt: the held-back share and hash salt (``training.active.heldback``).
        every: one check in this many places.

    Returns:
        ``(positions int64, scores float64, checks bool)``: ``checks`` marks the random
        checks (their labels will be held back); their score is their uncertainty, as the
        strategy's picks (0 for ``random``).
    """
    p = np.asarray(probabilities)
    n = len(p)
    count = n if count is None else max(0, min(int(count), n))
    if keys is None or len(keys) != n:
        raise ValueError(f"One key per pool image is needed. Received: "
                         f"{None if keys is None else len(keys)} keys for {n} images")
    rng = np.random.default_rng([int(seed), every])   # apart from the strategy's stream
    candidates = holdout_candidates(keys, share, salt)
    slots = check_slots(count, rng, every)
    checks = rng.permutation(np.flatnonzero(candidates))[:len(slots)]
    others = np.flatnonzero(~candidates)
    k = count if batch is None else max(1, min(int(batch), count))
    picks, _ = rank(strategy, p[others], None if features is None else np.asarray(features)[others],
                    count - len(checks), seed, measure, batch=max(1, k - int(np.sum(slots[:len(checks)] < k))),
                    **rank_options)
    picks = others[picks]
    # Too few of the others (a small pool): more checks fill the places left.
    spare = rng.permutation(np.setdiff1d(np.flatnonzero(candidates), checks))[:count - len(checks) - len(picks)]
    is_check = np.zeros(len(checks) + len(picks) + len(spare), bool)
    is_check[slots[:len(checks)]] = True
    places = np.flatnonzero(~is_check)
    is_check[places[len(picks):]] = True
    positions = np.empty(len(is_check), np.int64)
    positions[places[:len(picks)]] = picks
    positions[is_check] = np.concatenate([checks, spare]).astype(np.int64)[np.argsort(
        np.concatenate([slots[:len(checks)], places[len(picks):]]), kind="stable")]
    scores = np.zeros(len(positions)) if strategy == "random" else uncertainty(p[positions], measure)
    return positions, scores, is_check
