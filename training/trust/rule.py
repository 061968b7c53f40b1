"""Fitting, saving and applying a run's trust artifacts: the temperature and the unknown rule.

After training (and by ``evaluate`` for a run that has none yet) ``fit_trust`` runs
the model once over the validation split and a bounded subsample of the training split
(penultimate features and probabilities in one pass, ``training.features.embeddings``), fits the
temperature by NLL (``training.trust.calibration``), chooses the unknown rule
(``training.trust.unknown``) and writes three small files into the run folder. :class:`Trust`
reads them back and applies them: the Predictor, the evaluation and the export all go
through it, so a probability shown anywhere is the calibrated one.

This module holds ``Trust`` (reading and applying); fitting and writing the files, and the
model passes they need, are ``training.trust.fitting``.
"""
from __future__ import annotations

import logging
from pathlib import Path

import numpy as np

from training import safefiles
from training.trust.calibration import apply_temperature
from training.safefiles import check_schema
from training.runs.runfolder import (CALIBRATION_JSON, UNKNOWN_JSON, UNKNOWN_REFERENCE_NPZ, RunError,
                                read_json)
from training.trust.unknown import (
    MAX_REFERENCE,
    UnknownRule,
    knn_distance,
    mahalanobis,
    thumbnails,
)

log = logging.getLogger(__name__)
CALIBRATION_SCHEMA = 1
# The reference subsample: MAX_REFERENCE rows of at most 8,192 float32 features, plus the
# thumbnail statistics; an archive declaring more is refused before it is unpacked.
MAX_REFERENCE_BYTES = MAX_REFERENCE * 8192 * 4 + 64 * safefiles.MiB


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
        self.fit: dict = {}  # calibration.json as written by fit_trust (validation numbers)

    @classmethod
    def load(cls, run_dir) -> Trust:
        """Read the run's trust files; missing or damaged ones are logged and skipped."""
        folder = Path(run_dir)
        temperature, rule, reference, appearance, fit = 1.0, None, None, None, {}
        try:
            if (folder / CALIBRATION_JSON).is_file():
                fit = read_json(folder / CALIBRATION_JSON)
                check_schema(fit, "calibration", CALIBRATION_SCHEMA, where=folder / CALIBRATION_JSON,
                             required=False)
                t = fit.get("temperature", 1.0)
                if isinstance(t, (int, float)) and not isinstance(t, bool) and t > 0:
                    temperature = float(t)
            if (folder / UNKNOWN_JSON).is_file():
                rule = UnknownRule.from_dict(read_json(folder / UNKNOWN_JSON), folder / UNKNOWN_JSON)
            if rule is not None and (folder / UNKNOWN_REFERENCE_NPZ).is_file():
                # A run folder may come from anywhere: no link out, no zip bomb (issue 25).
                if not safefiles.inside(folder, folder / UNKNOWN_REFERENCE_NPZ):
                    raise ValueError(f"{folder / UNKNOWN_REFERENCE_NPZ} is a link out of the run folder")
                safefiles.check_archive(folder / UNKNOWN_REFERENCE_NPZ, MAX_REFERENCE_BYTES)
                with np.load(folder / UNKNOWN_REFERENCE_NPZ, allow_pickle=False) as npz:
                    reference = np.asarray(npz["features"], dtype=np.float32)
                    if "thumb_mean" in npz.files:
                        appearance = (np.asarray(npz["thumb_mean"], dtype=np.float32),
                                      np.asarray(npz["thumb_precision"], dtype=np.float32))
        except (RunError, ValueError, TypeError, OSError, KeyError, AttributeError) as exc:
            log.warning("Ignoring the damaged calibration/unknown files of %s: %s", folder, exc)
        trust = cls(temperature, rule, reference, appearance)
        trust.fit = fit if isinstance(fit, dict) else {}
        return trust

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

    def signature_fields(self, files: dict | None = None) -> dict:
        """``signature.json``'s ``calibration`` and ``unknown`` fields (export sidecar).

        An exported file outputs the model's own probabilities; the consumer applies the
        temperature. With ``files`` (what ``training.export.trust.write_trust_files``
        wrote beside the export: the rule, its reference data and the feature models),
        the whole rule travels; without them only its confidence part.
        """
        r = self.rule
        files = files or {}
        unknown = None
        if r is not None:
            unknown = {
                "coverage": r.coverage, "confidence_threshold": r.confidence_threshold,
                "rule": "unknown when the calibrated top probability < confidence_threshold",
                "note": "the app also answers unknown for inputs unlike the training data "
                        f"(distance checks on the run's {UNKNOWN_REFERENCE_NPZ}), which an "
                        "exported file cannot do alone"}
            if files.get("rule_file"):
                summary = self.summary()["unknown"]
                features = files.get("features_files") or {}
                unknown.update(
                    distance=summary["distance"], appearance=summary["appearance"],
                    files={"rule": files["rule_file"], "reference": files["reference_file"],
                           "features": features},
                    features_parity=files.get("features_parity") or {},
                    rule="unknown when the input is unlike the training data (the L2-normalised "
                         "output of the features file is farther than distance.threshold from "
                         "its k-th nearest row of the reference's 'features', or the 8x8 "
                         "grayscale thumbnail's Mahalanobis distance to 'thumb_mean' / "
                         "'thumb_precision' exceeds appearance.threshold), else when the "
                         "calibrated top probability < confidence_threshold",
                    note="training.export.predictor applies this rule as the app does"
                         + ("" if features else "; no features file in this export: the "
                                                "feature distance check is skipped"))
        return {
            "calibration": {"method": "temperature", "temperature": self.temperature,
                            "apply": "p = softmax(log(p_model) / temperature); the argmax "
                                     "does not change"},
            "unknown": unknown}

    @classmethod
    def from_signature(cls, signature: dict) -> Trust:
        """The part of the trust rule an exported model's ``signature.json`` carries."""
        cal = signature.get("calibration") or {}
        t = cal.get("temperature", 1.0)
        temperature = float(t) if isinstance(t, (int, float)) and not isinstance(t, bool) and t > 0 else 1.0
        unk = signature.get("unknown")
        rule = None
        if isinstance(unk, dict):
            try:
                rule = UnknownRule(coverage=float(unk.get("coverage", 1.0)),
                                   confidence_threshold=float(unk.get("confidence_threshold", 0.0)),
                                   temperature=temperature)
            except (TypeError, ValueError) as exc:
                log.warning("Ignoring the malformed 'unknown' rule of an exported model: %s", exc)
        return cls(temperature, rule)

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
