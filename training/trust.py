"""Fitting, saving and applying a run's trust artifacts: the temperature and the unknown rule.

After training (and by ``evaluate`` for a run that has none yet) :func:`fit_trust` runs
the model once over the validation split and a bounded subsample of the training split
(penultimate features and probabilities in one pass, ``training.embeddings``), fits the
temperature by NLL (``training.calibration``), chooses the unknown rule
(``training.unknown``) and writes three small files into the run folder. :class:`Trust`
reads them back and applies them: the Predictor, the evaluation and the export all go
through it, so a probability shown anywhere is the calibrated one.
"""
from __future__ import annotations

import logging
import os
from pathlib import Path

import numpy as np

from training import runs
from training.calibration import apply_temperature, fit_temperature, nll
from training.events import Events
from training.runfolder import CALIBRATION_JSON, UNKNOWN_JSON, UNKNOWN_REFERENCE_NPZ
from training.unknown import (
    MAX_REFERENCE,
    UnknownRule,
    fit_gaussian,
    fit_rule,
    knn_distance,
    mahalanobis,
    normalize,
    thumbnails,
)

log = logging.getLogger(__name__)
CALIBRATION_SCHEMA = 1


class Trust:
    """A run's temperature, unknown rule and kNN reference (all optional).

    Attributes:
        temperature: 1.0 when the run has no calibration.
        rule: the :class:`UnknownRule`, or None (then nothing is ever "unknown").
        reference: (M, D) normalised training features, or None.
    """

    def __init__(self, temperature: float = 1.0, rule: UnknownRule | None = None,
                 reference: np.ndarray | None = None, appearance: tuple | None = None):
        self.temperature = float(temperature)
        self.rule = rule
        self.reference = reference
        self.appearance = appearance  # (mean, precision) of training thumbnails, or None

    @classmethod
    def load(cls, run_dir) -> Trust:
        """Read the run's trust files; missing or damaged ones are logged and skipped."""
        folder = Path(run_dir)
        temperature, rule, reference, appearance = 1.0, None, None, None
        try:
            if (folder / CALIBRATION_JSON).is_file():
                t = runs.read_json(folder / CALIBRATION_JSON).get("temperature", 1.0)
                if isinstance(t, (int, float)) and not isinstance(t, bool) and t > 0:
                    temperature = float(t)
            if (folder / UNKNOWN_JSON).is_file():
                rule = UnknownRule.from_dict(runs.read_json(folder / UNKNOWN_JSON))
            if rule is not None and (folder / UNKNOWN_REFERENCE_NPZ).is_file():
                with np.load(folder / UNKNOWN_REFERENCE_NPZ, allow_pickle=False) as npz:
                    reference = np.asarray(npz["features"], dtype=np.float32)
                    if "thumb_mean" in npz.files:
                        appearance = (np.asarray(npz["thumb_mean"], dtype=np.float32),
                                      np.asarray(npz["thumb_precision"], dtype=np.float32))
        except (runs.RunError, ValueError, OSError, KeyError, AttributeError) as exc:
            log.warning("Ignoring the damaged calibration/unknown files of %s: %s", folder, exc)
        return cls(temperature, rule, reference, appearance)

    def calibrate(self, raw_probs) -> np.ndarray:
        return apply_temperature(raw_probs, self.temperature)

    def distances(self, features) -> np.ndarray | None:
        if features is None or self.rule is None or self.reference is None \
                or not len(self.reference):
            return None
        if np.asarray(features).reshape(len(features), -1).shape[1] != self.reference.shape[1]:
            log.warning("Feature size %s differs from the reference's %s; distance check skipped",
                        np.asarray(features).shape, self.reference.shape)
            return None
        return knn_distance(features, self.reference, self.rule.k)

    def appearance_distances(self, images) -> np.ndarray | None:
        if images is None or self.rule is None or self.appearance is None:
            return None
        return mahalanobis(thumbnails(images), *self.appearance)

    def assess(self, raw_probs, features=None, coverage: float | None = None,
               images=None, appearance=None) -> dict:
        """Calibrated probabilities and the unknown decision for a batch.

        Args:
            images: the uint8 input images (for the appearance check; None skips it).
            appearance: their thumbnail distances, when already computed.

        Returns:
            ``{probabilities (N, C), distances (N,) | None, appearance (N,) | None,
            unknown [bool], reasons [str | None]}``.
        """
        probs = self.calibrate(raw_probs)
        dist = self.distances(features)
        look = appearance if appearance is not None else self.appearance_distances(images)
        if self.rule is None:
            flags = [(False, None)] * len(probs)
        else:
            rule = self.rule if coverage is None else self.rule.with_coverage(coverage)
            flags = rule.decide(probs, dist, look)
        return {"probabilities": probs, "distances": dist, "appearance": look,
                "unknown": [u for u, _ in flags], "reasons": [r for _, r in flags]}

    def summary(self) -> dict:
        """Plain fields for ``signature.json`` and the JSON outputs."""
        r = self.rule
        return {"temperature": self.temperature,
                "unknown": None if r is None else {
                    "coverage": r.coverage, "confidence_threshold": r.confidence_threshold,
                    "distance": None if r.distance_threshold is None else {
                        "method": "knn", "k": r.k, "threshold": r.distance_threshold,
                        "quantile": r.distance_quantile, "normalized": True,
                        "reference_file": UNKNOWN_REFERENCE_NPZ, "n_reference": r.n_reference},
                    "appearance": None if r.appearance_threshold is None else {
                        "method": "mahalanobis", "thumbnail": "8x8 grayscale, box filter, 0..1",
                        "threshold": r.appearance_threshold,
                        "reference_file": UNKNOWN_REFERENCE_NPZ}}}


def fit_trust(model, data, run_dir, events: Events | None = None, seed: int = 42) -> dict | None:
    """Fit the temperature and the unknown rule on ``data``'s validation split; write them.

    Args:
        model: the trained Keras model.
        data: the run's ``PreparedData``.
        run_dir: where ``calibration.json``, ``unknown.json`` and the reference go.

    Returns:
        The calibration dict written, or None when the split has no validation images
        (then nothing is written and probabilities stay as the model gives them).

    Raises:
        Stopped: a stop was requested between batches.
    """
    from training.data.index import TRAIN, VALIDATION
    from training.embeddings import Embedder

    events = events or Events()
    splits = np.asarray(data.splits)
    if not np.any(splits == VALIDATION):
        events.on_status("No validation images: probabilities are not calibrated and no "
                         "unknown rule is chosen.")
        return None
    events.on_status("Calibrating on the validation split…")
    try:
        emb = Embedder(model)
    except ValueError as exc:
        log.warning("No penultimate features (%s); the unknown rule has no distance check", exc)
        emb = None
    y = np.asarray(data.y)
    if emb is not None:
        rows, feats, raw = emb.embed_split(data, VALIDATION, events=events, with_probabilities=True)
        train_rows, train_feats = emb.embed_split(data, TRAIN, events=events, limit=MAX_REFERENCE,
                                                  seed=seed)
        reference = normalize(train_feats)
    else:
        from training.predict import predict_probabilities

        rows = np.flatnonzero(splits == VALIDATION)
        raw = predict_probabilities(model, data.x[rows], events=events, what="calibrating")
        feats = reference = None
        train_rows = np.flatnonzero(splits == TRAIN)[:MAX_REFERENCE]
    appearance = fit_gaussian(_thumbs(data.x, train_rows))
    val_look = mahalanobis(_thumbs(data.x, rows), *appearance)
    y_val = y[rows]
    temperature = fit_temperature(raw, y_val)
    calibrated = apply_temperature(raw, temperature)
    rule = fit_rule(calibrated, y_val, feats, reference, temperature, val_appearance=val_look)
    folder = Path(run_dir)
    calibration = {"schema_version": CALIBRATION_SCHEMA, "method": "temperature",
                   "temperature": temperature, "fitted_on": "validation",
                   "num_samples": len(rows), "nll_before": nll(raw, y_val),
                   "nll_after": nll(calibrated, y_val)}
    tmp = folder / (UNKNOWN_REFERENCE_NPZ + ".tmp.npz")
    np.savez_compressed(tmp, features=(reference if reference is not None
                                       else np.zeros((0, 0))).astype(np.float32),
                        thumb_mean=appearance[0], thumb_precision=appearance[1])
    os.replace(tmp, folder / UNKNOWN_REFERENCE_NPZ)
    runs.write_json(folder / UNKNOWN_JSON, rule.to_dict())
    runs.write_json(folder / CALIBRATION_JSON, calibration)
    events.on_status(f"Temperature {temperature:.3f}; unknown below "
                     f"{rule.confidence_threshold:.1%} confidence"
                     + ("" if rule.distance_threshold is None else
                        f" or beyond kNN distance {rule.distance_threshold:.3f}"))
    return calibration


def _thumbs(x, rows, chunk: int = 256) -> np.ndarray:
    """Thumbnails of ``x[rows]``, read a chunk at a time (``x`` may be a memory map)."""
    parts = [thumbnails(x[rows[i:i + chunk]]) for i in range(0, len(rows), chunk)]
    return np.concatenate(parts) if parts else np.zeros((0, 64), dtype=np.float32)


def trusted_predictions(model, x, rows, y_true, trust: Trust, events: Events | None = None,
                        batch_size: int = 64, what: str = "evaluating") -> tuple[np.ndarray, dict]:
    """Calibrated probabilities of ``x[rows]`` and what the evaluation JSON says about trust.

    Returns:
        ``(probabilities (N, C), extras)``: ``extras`` holds ``loss`` (the model's own,
        uncalibrated, so it matches the training curves), ``calibration`` (ECE/NLL before
        and after, reliability bins) and ``unknown`` (rates on these images and the
        reason per image, ``reasons``).
    """
    from training.calibration import calibration_report
    from training.embeddings import Embedder

    try:
        emb = Embedder(model, batch_size=batch_size)
    except ValueError as exc:
        log.warning("No penultimate features (%s); evaluating without the distance check", exc)
        from training.predict import predict_probabilities

        feats, raw = None, predict_probabilities(model, x[rows], batch_size=batch_size,
                                                 events=events, what=what)
    else:
        feats, raw = emb.embed_rows(x, rows, events=events, what=what, with_probabilities=True)
    y = np.asarray(y_true, dtype=np.int64).reshape(-1)
    look = None
    if trust.appearance is not None:
        look = mahalanobis(_thumbs(x, np.asarray(rows)), *trust.appearance)
    assessed = trust.assess(raw, feats, appearance=look)
    probs = assessed["probabilities"]
    extras = {"loss": nll(raw, y) if len(y) else None,
              "calibration": calibration_report(raw, y, trust.temperature)}
    if trust.rule is not None and len(y):
        unknown = np.asarray(assessed["unknown"], dtype=bool)
        reasons = assessed["reasons"]
        correct = probs.argmax(axis=1) == y
        extras["unknown"] = {
            **trust.summary()["unknown"],
            "num_samples": len(y), "unknown_rate": float(unknown.mean()),
            "by_reason": {r: int(sum(1 for v in reasons if v == r)) for r in set(reasons) if r},
            "accuracy_answered": float(correct[~unknown].mean()) if (~unknown).any() else None,
            "reasons": reasons,
        }
    return probs, extras
