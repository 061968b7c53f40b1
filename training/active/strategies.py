"""Ranking strategies: which unlabelled images would teach the model most.

Every strategy takes the model's probabilities for the pool (and, for ``badge`` and ``diverse``, its
penultimate features from ``training.features.embeddings``) and returns pool positions,
best first, with a score per position (higher = label it sooner). Deterministic for a
given seed.

Which uncertainty measure and pre-filter size: chosen on a Fashion-MNIST pool disjoint
from the one the benchmark reports on (bench/active_learning.py ``--tune``; see
docs/BENCHMARKS.md, "Active learning").
"""
from __future__ import annotations

import numpy as np

# The one list of strategies, with what the CLI's --help and the app show for each.
STRATEGIES: dict[str, str] = {
    "badge": "the least sure images, spread over what each would teach the model and the classes it predicts",
    "diverse": "the least sure images, skipping near-duplicates of those already picked",
    "uncertainty": "the images the model is least sure of",
    "random": "images in random order (the baseline)",
}
DEFAULT_STRATEGY = "badge"
MEASURES = ("margin", "entropy")
DEFAULT_MEASURE = "margin"
# diverse picks from the PREFILTER x count most uncertain images. With spacing 0 by k-center
# greedy, each pick the farthest from those before it (WEIGHTED: distance times uncertainty).
DEFAULT_PREFILTER = 8
DEFAULT_WEIGHTED = False
# diverse with ``spacing`` s > 0: instead of k-center, walk the candidates in uncertainty
# order and skip one closer to an earlier pick than s x the median pairwise distance of the
# candidates (near-duplicates never pass, however many; the order stays uncertainty's).
DEFAULT_SPACING = 0.1
# badge picks at most BADGE_CLASS_CAP x count / classes images of one predicted class (0 =
# no cap): with a weak early model the seeding can pour a batch into one confused class.
# Chosen on the tuning pool with 5 seeds (docs/BENCHMARKS.md, "Active learning", fifth
# pass): 2 took BADGE from 529 to 496 labels to random's 1,000-label accuracy, a gain
# smaller than the seed spread (one seed of five moved, by 78 labels).
BADGE_CLASS_CAP = 2.0


def badge(probabilities, features, count: int, rng, cap: float | None = None) -> np.ndarray:
    """``count`` rows by BADGE (Ash et al. 2020): k-means++ seeding over the last layer's
    gradient embeddings ``(p - onehot(argmax p)) x features``. An embedding's length grows
    with the uncertainty and its direction says what the image would teach, so the seeding
    prefers unsure images and spreads them; a near-duplicate of a pick is at distance ~0
    and is almost never drawn. Memory O(n): distances come from the two factors' dot
    products, the (n, C x d) embeddings are never built. ``cap`` (default
    ``BADGE_CLASS_CAP``): at most ``cap x count / classes`` picks per predicted class."""
    cap = BADGE_CLASS_CAP if cap is None else cap
    p = np.asarray(probabilities, np.float32)
    f = np.asarray(features, np.float32).reshape(len(features), -1)
    n = len(p)
    count = max(0, min(int(count), n))
    if count == 0:
        return np.zeros(0, np.int64)
    predicted = p.argmax(axis=1)
    r = p.copy()
    r[np.arange(n), predicted] -= 1.0
    per_class = max(1, int(np.ceil(cap * count / p.shape[1]))) if cap > 0 else count
    taken = np.zeros(p.shape[1], np.int64)
    # ||r_i f_i^T - r_j f_j^T||^2 = |r_i|^2|f_i|^2 + |r_j|^2|f_j|^2 - 2 (r_i.r_j)(f_i.f_j)
    norm2 = (r * r).sum(1) * (f * f).sum(1)
    picked = [int(np.argmax(norm2))]
    dist = np.maximum(norm2 + norm2[picked[0]] - 2 * (r @ r[picked[0]]) * (f @ f[picked[0]]), 0.0)
    dist[picked[0]] = 0.0
    taken[predicted[picked[0]]] += 1
    full = taken >= per_class
    for _ in range(1, count):
        # A class at its cap: its images are not drawn while another class has one left;
        # once none has (a small pool, or one class predicted everywhere), the cap yields.
        w = np.where(full[predicted], 0.0, dist) if full.any() else dist
        total = float(w.sum())
        if total <= 0:
            w, total = dist, float(dist.sum())
        if total > 0:
            nxt = int(rng.choice(n, p=w / total))
        else:   # every image left is at distance 0 from a pick: any one not picked yet
            nxt = int(rng.choice(np.setdiff1d(np.arange(n), picked)))
        picked.append(nxt)
        d = np.maximum(norm2 + norm2[nxt] - 2 * (r @ r[nxt]) * (f @ f[nxt]), 0.0)
        dist = np.minimum(dist, d)
        dist[picked] = 0.0
        taken[predicted[nxt]] += 1
        full = taken >= per_class
    return np.asarray(picked, np.int64)


def uncertainty(probabilities, measure: str = DEFAULT_MEASURE) -> np.ndarray:
    """Uncertainty per row (higher = less sure), in [0, 1].

    Args:
        probabilities: ``(n, C)`` rows summing to 1.
        measure: ``"margin"`` (1 - (top1 - top2)) or ``"entropy"`` (normalised by log C).
    """
    p = np.asarray(probabilities, np.float64)
    if p.ndim != 2:
        raise ValueError(f"probabilities must be (n, classes). Received: shape={p.shape}")
    if measure not in MEASURES:
        raise ValueError(f"measure must be one of {', '.join(MEASURES)}. Received: {measure!r}")
    if len(p) == 0:
        return np.zeros(0)
    if p.shape[1] < 2:
        return np.zeros(len(p))
    if measure == "margin":
        top2 = np.partition(p, p.shape[1] - 2, axis=1)[:, -2:]
        return 1.0 - (top2[:, 1] - top2[:, 0])
    q = np.clip(p, 1e-12, 1.0)
    return -(q * np.log(q)).sum(axis=1) / np.log(p.shape[1])


def rank(strategy: str, probabilities, features=None, count: int | None = None, seed: int = 0,
         measure: str = DEFAULT_MEASURE, prefilter: int = DEFAULT_PREFILTER,
         weighted: bool = DEFAULT_WEIGHTED, batch: int | None = None,
         spacing: float = DEFAULT_SPACING) -> tuple[np.ndarray, np.ndarray]:
    """Pool positions to label next, best first, and their scores.

    Args:
        strategy: a key of :data:`STRATEGIES`.
        probabilities: ``(n, C)`` model probabilities of the pool.
        features: ``(n, d)`` penultimate features (``badge`` and ``diverse``).
        count: how many to return (None: all).
        seed: for ``random`` and the tie-breaking of the others.
        measure: the uncertainty measure (see :func:`uncertainty`).
        prefilter: ``diverse`` picks from the ``prefilter x count`` most uncertain.
        weighted: ``diverse`` weighs each candidate's distance by its uncertainty.
        batch: ``badge``/``diverse`` spread the first ``batch`` positions (the labels given before
            the model retrains; default ``count``) and lists the rest by uncertainty.
        spacing: ``diverse`` skips near-duplicates of earlier picks in uncertainty order
            (see ``DEFAULT_SPACING``) instead of k-center greedy; 0 = k-center.

    Returns:
        ``(positions int64, scores float64)``: for ``uncertainty``/``diverse``/``badge`` the score is
        the uncertainty; for ``random`` it is 0 for all.
    """
    p = np.asarray(probabilities)
    n = len(p)
    count = n if count is None else max(0, min(int(count), n))
    rng = np.random.default_rng(seed)
    if strategy == "random":
        order = rng.permutation(n)[:count]
        return order.astype(np.int64), np.zeros(len(order))
    if strategy not in STRATEGIES:
        raise ValueError(f"Unknown strategy (known: {', '.join(STRATEGIES)}). Received: {strategy!r}")
    u = uncertainty(p, measure)
    # Ties (identical probabilities) broken by a seeded shuffle, not by file order.
    tie = rng.permutation(n)
    by_uncertainty = tie[np.argsort(-u[tie], kind="stable")]
    if strategy == "uncertainty" or count == 0:
        order = by_uncertainty[:count]
        return order.astype(np.int64), u[order]
    if features is None or len(features) != n:
        raise ValueError(f"The {strategy} strategy needs the pool's features, one row per image. "
                         f"Received: {None if features is None else len(features)} rows for {n} images")
    k = count if batch is None else max(1, min(int(batch), count))
    candidates = by_uncertainty[:min(n, max(k, int(prefilter) * k))]
    if strategy == "badge":
        picked = badge(p, np.asarray(features), k, rng)
    elif spacing > 0:
        picked = candidates[spaced(np.asarray(features)[candidates], k, spacing)]
    else:
        picked = candidates[k_center_greedy(np.asarray(features)[candidates], k, first=0,
                                            weights=u[candidates] if weighted else None)]
    rest = by_uncertainty[~np.isin(by_uncertainty, picked)][:count - k]
    order = np.concatenate([picked, rest])
    return order.astype(np.int64), u[order]


def k_center_greedy(features, count: int, first: int = 0, weights=None) -> np.ndarray:
    """``count`` rows of ``features``, each the farthest from those picked before
    (Sener & Savarese's core-set greedy), starting at row ``first``; with ``weights``, the
    one with the largest weight x distance.

    Features are L2-normalised first, so the distance is about what the model sees, not
    how strongly (near-duplicates are close whatever their scale). Memory is O(n).
    """
    f, count = _unit_rows(features, count)
    if count == 0:
        return np.zeros(0, np.int64)
    picked = np.empty(count, np.int64)
    picked[0] = first
    dist = np.sum((f - f[first]) ** 2, axis=1)
    dist[first] = -1.0
    w = None if weights is None else np.asarray(weights, np.float32)
    for i in range(1, count):
        nxt = int(np.argmax(dist if w is None else np.where(dist < 0, -1.0, dist * w)))
        picked[i] = nxt
        dist = np.minimum(dist, np.sum((f - f[nxt]) ** 2, axis=1))
        dist[picked[:i + 1]] = -1.0
    return picked


def spaced(features, count: int, spacing: float) -> np.ndarray:
    """Up to ``count`` rows in their order, each skipped when it is closer (L2-normalised)
    to an earlier pick than ``spacing`` x the median pairwise distance; rows skipped fill
    the end when too few pass."""
    f, count = _unit_rows(features, count)
    n = len(f)
    if count == 0:
        return np.zeros(0, np.int64)
    d = np.maximum(0.0, 2.0 - 2.0 * (f @ f.T))
    tau = float(spacing * np.median(d[np.triu_indices(n, 1)])) if n > 1 else 0.0
    picked: list[int] = []
    for i in range(n):
        if len(picked) == count:
            break
        if not picked or d[i, picked].min() > tau:
            picked.append(i)
    rest = [i for i in range(n) if i not in set(picked)][:count - len(picked)]
    return np.asarray(picked + rest, np.int64)


def _unit_rows(features, count: int) -> tuple[np.ndarray, int]:
    """The features as L2-normalised float32 rows (the distance is about what the model
    sees, not how strongly), and ``count`` clipped to their number."""
    f = np.asarray(features, np.float32).reshape(len(features), -1)
    f = f / np.maximum(np.linalg.norm(f, axis=1, keepdims=True), 1e-12)
    return f, max(0, min(int(count), len(f)))
