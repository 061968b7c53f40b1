"""How far a model's percentages can be trusted: ECE, reliability diagrams, temperature scaling.

Pure NumPy/SciPy (netcal would pull in torch). Following Guo et al. 2017
(arXiv:1706.04599):

- the expected calibration error (ECE) bins the top-class confidence into 15 equal-width
  bins and averages |accuracy - confidence| weighted by the bins' sizes;
- temperature scaling divides the logits by one scalar T fitted on the validation split
  by minimising the negative log-likelihood; T > 1 softens overconfident outputs, and the
  predicted class never changes.

The models here end in a softmax (or a sigmoid for two classes, seen as ``[1-p, p]``), so
the logits are recovered as ``log(p)``: softmax(log(p) / T) is exactly softmax(z / T) for
the original logits z, since softmax ignores the constant shift between them.
"""
from __future__ import annotations

import numpy as np

N_BINS = 15
# A validation split that the model gets all right pushes the NLL-optimal T towards 0
# (ever sharper); the bounds and the minimum sample count keep a tiny split from
# turning 90 % into 99.99 %.
T_MIN, T_MAX = 0.25, 10.0
MIN_SAMPLES = 50
# float32 softmax outputs underflow to exactly 0; the log needs a floor (about e^-69).
_P_FLOOR = 1e-30


def _as_probs(probs) -> np.ndarray:
    p = np.asarray(probs, dtype=np.float64)
    if p.ndim != 2:
        raise ValueError(f"probabilities must have shape (N, C). Received: shape={p.shape}")
    return p


def apply_temperature(probs, temperature: float) -> np.ndarray:
    """Probabilities softened (T > 1) or sharpened (T < 1) by temperature ``T``.

    Args:
        probs: (N, C) probabilities as the model gave them.
        temperature: a positive scalar; 1 returns the input unchanged.

    Returns:
        (N, C) float32 probabilities; each row's argmax is unchanged.
    """
    t = float(temperature)
    if not t > 0:
        raise ValueError(f"temperature must be positive. Received: temperature={temperature!r}")
    p = _as_probs(probs)
    if t == 1.0 or p.size == 0:
        return p.astype(np.float32)
    z = np.log(np.clip(p, _P_FLOOR, 1.0)) / t
    z -= z.max(axis=1, keepdims=True)
    e = np.exp(z)
    return (e / e.sum(axis=1, keepdims=True)).astype(np.float32)


def nll(probs, y_true) -> float:
    """Mean negative log-likelihood of the true classes (clipped like Keras, at 1e-7)."""
    p = _as_probs(probs)
    y = np.asarray(y_true, dtype=np.int64).reshape(-1)
    if not len(y):
        return float("nan")
    return float(-np.log(np.clip(p[np.arange(len(y)), y], 1e-7, 1.0)).mean())


def fit_temperature(probs, y_true) -> float:
    """The temperature minimising the validation NLL (bounded search over log T).

    Returns 1.0 when there is too little to fit on (fewer than ``MIN_SAMPLES`` images,
    or no wrong prediction among them).
    """
    from scipy.optimize import minimize_scalar

    p = _as_probs(probs)
    y = np.asarray(y_true, dtype=np.int64).reshape(-1)
    if len(y) < MIN_SAMPLES or p.shape[0] != len(y) or (p.argmax(axis=1) == y).all():
        return 1.0
    logp = np.log(np.clip(p, _P_FLOOR, 1.0))
    rows = np.arange(len(y))

    def loss(log_t: float) -> float:
        z = logp / np.exp(log_t)
        z = z - z.max(axis=1, keepdims=True)
        log_norm = np.log(np.exp(z).sum(axis=1))
        return float((log_norm - z[rows, y]).mean())

    res = minimize_scalar(loss, bounds=(np.log(T_MIN), np.log(T_MAX)), method="bounded",
                          options={"xatol": 1e-4})
    t = float(np.exp(res.x)) if res.success else 1.0
    # Never return a temperature that fits worse than leaving the model alone.
    return t if loss(np.log(t)) <= loss(0.0) else 1.0


def reliability(probs, y_true, n_bins: int = N_BINS) -> dict:
    """Reliability-diagram data and the ECE.

    Returns:
        ``{ece, bins: [{lower, upper, count, accuracy, confidence}], n_bins}``; empty bins
        have ``count`` 0 and ``accuracy``/``confidence`` None.
    """
    p = _as_probs(probs)
    y = np.asarray(y_true, dtype=np.int64).reshape(-1)
    n = len(y)
    conf = p.max(axis=1) if n else np.zeros(0)
    correct = (p.argmax(axis=1) == y) if n else np.zeros(0, dtype=bool)
    edges = np.linspace(0.0, 1.0, n_bins + 1)
    # Bins are (lower, upper]; a confidence of exactly 0 goes to the first bin.
    which = np.clip(np.searchsorted(edges, conf, side="left") - 1, 0, n_bins - 1)
    bins, ece = [], 0.0
    for b in range(n_bins):
        mask = which == b
        count = int(mask.sum())
        acc = float(correct[mask].mean()) if count else None
        mean_conf = float(conf[mask].mean()) if count else None
        if count:
            ece += count / n * abs(acc - mean_conf)
        bins.append({"lower": float(edges[b]), "upper": float(edges[b + 1]), "count": count,
                     "accuracy": acc, "confidence": mean_conf})
    return {"ece": float(ece) if n else None, "bins": bins, "n_bins": n_bins}


def ece(probs, y_true, n_bins: int = N_BINS) -> float | None:
    """Expected calibration error with ``n_bins`` equal-width bins (None for no samples)."""
    return reliability(probs, y_true, n_bins)["ece"]


def calibration_report(raw_probs, y_true, temperature: float) -> dict:
    """What the evaluation JSON says about calibration: ECE/NLL before and after ``T``.

    Returns:
        ``{temperature, ece_before, ece_after, nll_before, nll_after, n_bins,
        reliability_before, reliability_after}`` (the reliability entries are the
        :func:`reliability` bins).
    """
    cal = apply_temperature(raw_probs, temperature)
    before, after = reliability(raw_probs, y_true), reliability(cal, y_true)
    return {"temperature": float(temperature), "n_bins": N_BINS,
            "ece_before": before["ece"], "ece_after": after["ece"],
            "nll_before": nll(raw_probs, y_true), "nll_after": nll(cal, y_true),
            "reliability_before": before["bins"], "reliability_after": after["bins"]}
