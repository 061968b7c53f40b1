"""Threshold curves from scores, in plain NumPy: precision-recall per class, risk-coverage.

Curves are stored in ``evaluation.json`` and ``unknown.json``, so each is thinned to at
most ``MAX_POINTS`` points (a 10,000-image test split would otherwise write 10,000
points per class); the summary numbers (average precision) use every sample.
"""
from __future__ import annotations

import numpy as np

MAX_POINTS = 101


def _thin(n: int, max_points: int = MAX_POINTS) -> np.ndarray:
    """Indices of at most ``max_points`` evenly spread points, keeping both ends."""
    if n <= max_points:
        return np.arange(n)
    return np.unique(np.linspace(0, n - 1, max_points).round().astype(np.int64))


def precision_recall(scores, positive) -> dict:
    """One-vs-rest precision-recall curve and average precision for one class.

    Args:
        scores: (N,) the class's probability for each sample.
        positive: (N,) True where the sample belongs to the class.

    Returns:
        ``{precision, recall, thresholds, average_precision}``: the curve from the highest
        threshold down, and AP = sum over thresholds of (R_n - R_(n-1)) * P_n (the step
        rule scikit-learn uses, no interpolation). AP is None when the class has no
        samples.
    """
    s = np.asarray(scores, dtype=np.float64).reshape(-1)
    pos = np.asarray(positive, dtype=bool).reshape(-1)
    n_pos = int(pos.sum())
    if not len(s) or n_pos == 0:
        return {"precision": [], "recall": [], "thresholds": [], "average_precision": None}
    order = np.argsort(-s, kind="stable")
    s, pos = s[order], pos[order]
    # One point per distinct score (ties enter together).
    last = np.r_[np.flatnonzero(np.diff(s)), len(s) - 1]
    tp = np.cumsum(pos)[last]
    fp = (last + 1) - tp
    precision = tp / (tp + fp)
    recall = tp / n_pos
    ap = float(np.sum(np.diff(np.r_[0.0, recall]) * precision))
    keep = _thin(len(last))
    return {"precision": precision[keep].tolist(), "recall": recall[keep].tolist(),
            "thresholds": s[last][keep].tolist(), "average_precision": ap}


def pr_curves(probs, y_true, classes) -> list[dict]:
    """Per-class one-vs-rest precision-recall curves: ``[{class, ..., average_precision}]``."""
    p = np.asarray(probs, dtype=np.float64)
    y = np.asarray(y_true, dtype=np.int64).reshape(-1)
    return [{"class": str(name), **precision_recall(p[:, i], y == i)}
            for i, name in enumerate(classes)]


def risk_coverage(confidence, correct) -> dict:
    """Selective-prediction curve: answer only the most confident, see how often it is wrong.

    Args:
        confidence: (N,) the score a sample is kept by (higher = kept first).
        correct: (N,) True where the prediction was right.

    Returns:
        ``{coverage, risk, thresholds, aurc}``: at threshold t_i, keeping the samples with
        confidence >= t_i covers ``coverage[i]`` of them with error rate ``risk[i]``;
        ``aurc`` is the area under the risk-coverage curve (lower is better).
    """
    c = np.asarray(confidence, dtype=np.float64).reshape(-1)
    ok = np.asarray(correct, dtype=bool).reshape(-1)
    n = len(c)
    if not n:
        return {"coverage": [], "risk": [], "thresholds": [], "aurc": None}
    order = np.argsort(-c, kind="stable")
    c, ok = c[order], ok[order]
    last = np.r_[np.flatnonzero(np.diff(c)), n - 1]
    kept = last + 1
    errors = np.cumsum(~ok)[last]
    coverage, risk = kept / n, errors / kept
    aurc = float(np.sum(np.diff(np.r_[0.0, coverage]) * risk))
    keep = _thin(len(last))
    return {"coverage": coverage[keep].tolist(), "risk": risk[keep].tolist(),
            "thresholds": c[last][keep].tolist(), "aurc": aurc}


def threshold_for_coverage(confidence, coverage: float) -> float:
    """The confidence threshold that keeps (at least) ``coverage`` of these samples.

    ``coverage`` 1 keeps everything (threshold 0); 0.9 rejects the least confident 10 %.
    """
    cov = float(coverage)
    if not 0.0 < cov <= 1.0:
        raise ValueError(f"coverage must be in (0, 1]. Received: coverage={coverage!r}")
    c = np.sort(np.asarray(confidence, dtype=np.float64).reshape(-1))[::-1]
    if not len(c) or cov >= 1.0:
        return 0.0
    k = max(1, int(np.ceil(cov * len(c))))
    return float(c[k - 1])
