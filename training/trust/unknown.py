"""The "unknown" answer: when a prediction should not be trusted, and why.

A rule chosen on the validation split and stored in the run (``unknown.json`` plus a
small ``unknown_reference.npz``). An image is answered "unknown" when

1. it is **unlike the training data**: its penultimate features (``training.features.embeddings``),
   L2-normalised, are farther from their k-th nearest neighbour in a bounded subsample of
   the training set's features than ``distance_quantile`` of the validation images are
   (the kNN rule of Sun et al. 2022, arXiv:2204.06507). Max-softmax alone misses
   far-away inputs (Hendrycks & Gimpel 2017): a photo of a butterfly can get 98 %; or
   A second distance looks at the image itself: the Mahalanobis distance of an 8x8
   grayscale thumbnail to the training thumbnails' mean and covariance (64 numbers and a
   64x64 matrix, whatever the dataset's size). It catches inputs whose overall look
   (brightness, background) the model never saw, which a small model's features can
   still map next to a known class: measured on the bundled Fashion-MNIST sample, the
   feature kNN alone flagged 29-43 % of ordinary photos, both checks together 90 %
   (docs/BENCHMARKS.md);
2. its **confidence is low**: the calibrated top-class probability is below the
   threshold that keeps ``coverage`` of the validation images (the Classify panel's
   coverage control moves it along the validation risk-coverage curve).
"""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field

import numpy as np

from training.safefiles import check_schema

SCHEMA_VERSION = 1
# Each check rejects about 1 - its quantile of in-distribution images; together they must
# stay under ~5 % on the test split, so each is strict (measured: docs/BENCHMARKS.md).
DEFAULT_COVERAGE = 0.99
DEFAULT_DISTANCE_QUANTILE = 0.995
THUMB_SIDE = 8
STRIP_BYTES = 4 * 2**20  # pixels per Pillow call when thumbnails are made side by side
DEFAULT_K = 5
MAX_REFERENCE = 1000  # training features kept for the kNN check (bounded whatever the dataset)

LOW_CONFIDENCE = "low confidence"
UNLIKE_TRAINING = "unlike the training data"


def normalize(features) -> np.ndarray:
    """Rows scaled to unit length (zero rows stay zero), float32."""
    f = np.asarray(features, dtype=np.float32)
    f = f.reshape(len(f), -1)
    norms = np.linalg.norm(f, axis=1, keepdims=True)
    return f / np.maximum(norms, 1e-12)


def knn_distance(features, reference, k: int, chunk: int = 512) -> np.ndarray:
    """Euclidean distance of each normalised feature row to its k-th nearest reference row.

    ``reference`` must already be normalised; computed in chunks of queries so memory
    stays at ``chunk x len(reference)``.
    """
    q = normalize(features)
    ref = np.asarray(reference, dtype=np.float32)
    if not len(ref):
        return np.full(len(q), np.inf, dtype=np.float32)
    k = max(1, min(int(k), len(ref)))
    out = np.empty(len(q), dtype=np.float32)
    for start in range(0, len(q), chunk):
        sims = q[start:start + chunk] @ ref.T
        # Unit vectors: |a - b|^2 = 2 - 2 a.b; the k-th largest similarity is the k-th nearest.
        kth = -np.partition(-sims, k - 1, axis=1)[:, k - 1]
        out[start:start + chunk] = np.sqrt(np.clip(2.0 - 2.0 * kth, 0.0, None))
    return out


def thumbnails(images, side: int = THUMB_SIDE) -> np.ndarray:
    """(N, side*side) float32 grayscale thumbnails in 0..1 of uint8 images (N, h, w, c).

    A box filter per image (PIL), so any input size maps to the same small vector.
    Images no taller than wide are resized side by side, as one strip per
    ``STRIP_BYTES``: one Pillow call instead of one per image (0.57 -> 0.04 CPU-s for
    20,000 28x28 images), and the same pixels, because a box filter at ``w -> side``
    treats each image's columns alone and Pillow then resizes the strip's columns one by
    one (tested against one call per image on odd sizes: saved rules must not shift).
    Taller images keep one call each: Pillow orders its two passes differently there.
    """
    from PIL import Image

    x = np.asarray(images)
    out = np.empty((len(x), side * side), dtype=np.float32)
    if x.ndim == 4 and x.shape[3] >= 3:
        # The channel mean, truncated to uint8, for the whole batch in integers: the same
        # values as a per-image float mean, 20x faster (this ran at ~1 ms per 128x128 RGB
        # image, 20 s of a 128x128 run's calibration and evaluation).
        grays = ((x[..., 0].astype(np.uint16) + x[..., 1] + x[..., 2]) // 3).astype(np.uint8)
    else:
        grays = x[..., 0] if x.ndim == 4 else x
    n = len(grays)
    if n and grays.shape[1] <= grays.shape[2]:
        h, w = grays.shape[1:3]
        per = max(1, STRIP_BYTES // (h * w))
        for s in range(0, n, per):
            part = np.asarray(grays[s:s + per], dtype=np.uint8)
            k = len(part)
            strip = np.ascontiguousarray(part.transpose(1, 0, 2).reshape(h, k * w))
            small = np.asarray(Image.fromarray(strip).resize((side * k, side), Image.BOX))
            small = small.reshape(side, k, side).transpose(1, 0, 2).reshape(k, side * side)
            out[s:s + k] = small.astype(np.float32) / 255.0
        return out
    for i, gray in enumerate(grays):
        small = Image.fromarray(np.ascontiguousarray(gray, dtype=np.uint8)).resize(
            (side, side), Image.BOX)
        out[i] = np.asarray(small, dtype=np.float32).ravel() / 255.0
    return out


def fit_gaussian(samples) -> tuple[np.ndarray, np.ndarray]:
    """Mean and (shrunk, so always invertible) precision matrix of (N, D) samples."""
    s = np.asarray(samples, dtype=np.float64)
    mean = s.mean(axis=0)
    cen = s - mean
    cov = cen.T @ cen / max(1, len(s) - 1)
    # Shrink towards the average variance: a few hundred samples estimate 64x64 poorly.
    cov += 0.01 * (np.trace(cov) / len(cov) + 1e-6) * np.eye(len(cov))
    return mean.astype(np.float32), np.linalg.inv(cov).astype(np.float32)


def _check_types(values: dict) -> None:
    """A rule read from a run folder (which may come from anywhere, issue 25) holds numbers
    where numbers are used; ValueError names the first field that does not."""
    from training.runs.checks import is_count, is_number

    def bad(key, expected):
        raise ValueError(f"The unknown-answer rule's {key} must be {expected}. "
                         f"Received: {key}={values.get(key)!r:.80}")

    for key in ("coverage", "confidence_threshold", "distance_quantile", "temperature"):
        if key in values and not is_number(values[key]):
            bad(key, "a number")
    for key in ("distance_threshold", "appearance_threshold"):
        if values.get(key) is not None and not is_number(values[key]):
            bad(key, "a number or null")
    for key in ("k", "n_reference"):
        if key in values and not is_count(values[key]):
            bad(key, "a count")
    for key in ("risk_coverage", "validation"):
        if key in values and not isinstance(values[key], dict):
            bad(key, "an object")
    curve = values.get("risk_coverage") or {}
    for key in ("coverage", "thresholds", "risk"):
        if key in curve and not (isinstance(curve[key], list) and all(map(is_number, curve[key]))):
            bad(f"risk_coverage.{key}", "a list of numbers")


def mahalanobis(samples, mean, precision) -> np.ndarray:
    d = np.asarray(samples, dtype=np.float64) - np.asarray(mean, dtype=np.float64)
    return np.sqrt(np.clip(np.einsum("nd,de,ne->n", d, precision, d), 0.0, None)).astype(np.float32)


@dataclass
class UnknownRule:
    """When to answer "unknown" (see the module docstring); saved as ``unknown.json``.

    Attributes:
        coverage: share of validation images answered (not unknown by confidence).
        confidence_threshold: calibrated top-class probability below which the answer is
            unknown (chosen for ``coverage`` on the validation split).
        distance_threshold: kNN distance above which the input is unlike the training
            data (None: no distance check, e.g. no validation images).
        distance_quantile: the share of validation images within ``distance_threshold``
            (and within ``appearance_threshold``).
        appearance_threshold: thumbnail Mahalanobis distance above which the input is
            unlike the training data (None: no such check).
        k: the neighbour whose distance counts.
        n_reference: training images in the reference subsample.
        temperature: the calibration temperature the confidences were taken after.
        risk_coverage: the validation curve ``{coverage, risk, thresholds, aurc}``.
        validation: counts and rates on the validation split when the rule was chosen.
    """

    coverage: float = DEFAULT_COVERAGE
    confidence_threshold: float = 0.0
    distance_threshold: float | None = None
    distance_quantile: float = DEFAULT_DISTANCE_QUANTILE
    appearance_threshold: float | None = None
    k: int = DEFAULT_K
    n_reference: int = 0
    temperature: float = 1.0
    risk_coverage: dict = field(default_factory=dict)
    validation: dict = field(default_factory=dict)
    schema_version: int = SCHEMA_VERSION

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, data, where=None) -> UnknownRule:
        """Raises ValueError for a non-object, a newer schema or a bad value (``where``: the
        file it came from, named by the message about a newer version)."""
        if not isinstance(data, dict):
            raise ValueError(f"An unknown-answer rule must be a JSON object. Received: {type(data).__name__}")
        check_schema(data, "unknown-answer rule", SCHEMA_VERSION, where=where, required=False)
        names = {f.name for f in dataclasses.fields(cls)}
        values = {k: v for k, v in data.items() if k in names}
        values["schema_version"] = SCHEMA_VERSION
        _check_types(values)
        rule = cls(**values)
        if not 0.0 < float(rule.coverage) <= 1.0:
            raise ValueError(f"coverage must be in (0, 1]. Received: coverage={rule.coverage!r}")
        return rule

    def threshold_at(self, coverage: float) -> float:
        """The confidence threshold keeping ``coverage`` of the validation images.

        Read off the stored risk-coverage curve (the first point covering at least
        ``coverage``), so the Classify panel can move it without the validation data.
        """
        cov = float(coverage)
        if not 0.0 < cov <= 1.0:
            raise ValueError(f"coverage must be in (0, 1]. Received: coverage={coverage!r}")
        if cov >= 1.0:
            return 0.0
        covs = np.asarray(self.risk_coverage.get("coverage") or [], dtype=np.float64)
        ths = np.asarray(self.risk_coverage.get("thresholds") or [], dtype=np.float64)
        if not len(covs):
            return float(self.confidence_threshold)
        i = int(np.searchsorted(covs, cov - 1e-9, side="left"))
        return float(ths[min(i, len(ths) - 1)])

    def with_coverage(self, coverage: float) -> UnknownRule:
        """A copy answering ``coverage`` of the validation images (the Classify control)."""
        return dataclasses.replace(self, coverage=float(coverage),
                                   confidence_threshold=self.threshold_at(coverage))

    def decide(self, probabilities, distances=None, appearance=None) -> list[tuple[bool, str | None]]:
        """``(unknown, reason)`` per image from calibrated probabilities, kNN feature
        distances and thumbnail distances (either may be None: that check is skipped).

        "Unlike the training data" is reported before "low confidence": it says more.
        """
        p = np.asarray(probabilities, dtype=np.float64)
        conf = p.max(axis=1) if len(p) else np.zeros(0)
        out = []

        def beyond(values, i, threshold):
            return values is not None and threshold is not None and float(values[i]) > threshold

        for i, c in enumerate(conf):
            if beyond(distances, i, self.distance_threshold) \
                    or beyond(appearance, i, self.appearance_threshold):
                out.append((True, UNLIKE_TRAINING))
            elif c < self.confidence_threshold:
                out.append((True, LOW_CONFIDENCE))
            else:
                out.append((False, None))
        return out


def fit_rule(val_probs, val_y, val_features, reference, temperature: float,
             coverage: float = DEFAULT_COVERAGE, quantile: float = DEFAULT_DISTANCE_QUANTILE,
             k: int = DEFAULT_K, val_appearance=None) -> UnknownRule:
    """Choose the rule on the validation split.

    Args:
        val_probs: (N, C) calibrated validation probabilities.
        val_y: (N,) validation labels.
        val_features: (N, D) validation penultimate features (None: no distance check).
        reference: (M, D) normalised training features (:func:`normalize`).
        temperature: recorded with the rule.
        val_appearance: (N,) thumbnail Mahalanobis distances of the validation images
            (None: no appearance check).
    """
    from training.trust.curves import risk_coverage, threshold_for_coverage

    p = np.asarray(val_probs, dtype=np.float64)
    y = np.asarray(val_y, dtype=np.int64).reshape(-1)
    conf = p.max(axis=1) if len(p) else np.zeros(0)
    correct = (p.argmax(axis=1) == y) if len(p) else np.zeros(0, dtype=bool)
    rule = UnknownRule(coverage=float(coverage), k=int(k), distance_quantile=float(quantile),
                       n_reference=len(reference) if reference is not None else 0,
                       temperature=float(temperature),
                       risk_coverage=risk_coverage(conf, correct))
    if not len(conf):
        return rule
    rule.confidence_threshold = threshold_for_coverage(conf, coverage)
    dist = None
    if val_features is not None and reference is not None and len(reference):
        dist = knn_distance(val_features, reference, k)
        rule.distance_threshold = float(np.quantile(dist, quantile))
    if val_appearance is not None and len(val_appearance):
        rule.appearance_threshold = float(np.quantile(val_appearance, quantile))
    flags = rule.decide(p, dist, val_appearance)
    unknown = np.array([u for u, _ in flags], dtype=bool)
    kept = ~unknown
    rule.validation = {
        "num_samples": len(conf),
        "unknown_rate": float(unknown.mean()),
        "accuracy_all": float(correct.mean()),
        "accuracy_answered": float(correct[kept].mean()) if kept.any() else None,
    }
    return rule


def decide_rows(rule: UnknownRule, rows: list[dict]) -> list[dict]:
    """Set ``unknown``/``unknown_reason`` of ``Predictor.predict_paths`` rows again under
    ``rule`` (e.g. after the coverage changed), from their stored probabilities and
    distances, without running the model. Rows with an error are left alone."""
    live = [r for r in rows if not r.get("error") and r.get("probabilities") is not None]
    if not live:
        return rows

    def column(key):
        values = [r.get(key) for r in live]
        return None if any(v is None for v in values) else np.asarray(values, dtype=np.float64)

    flags = rule.decide(np.asarray([r["probabilities"] for r in live], dtype=np.float64),
                        column("distance"), column("appearance"))
    for r, (unknown, reason) in zip(live, flags):
        r["unknown"], r["unknown_reason"] = bool(unknown), reason
    return rows
