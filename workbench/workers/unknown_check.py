"""Would each gallery image be answered "unknown", and why: the run's rule, off the GUI thread.

The Results panel's galleries show test predictions from ``evaluation.json``; this worker
runs them through the run's ``Predictor`` once more (cached, see
``workbench.workers.prediction.get_predictor``) to get the numbers behind the decision:
the calibrated confidence, the feature kNN distance and the thumbnail distance, each
with its threshold from the run's stored rule (``training.trust.unknown``). Plain dicts only.
"""
from __future__ import annotations

import logging

import numpy as np

from workbench.workers.base import Worker

log = logging.getLogger(__name__)

BATCH = 32


def rule_fields(rule) -> dict | None:
    """The thresholds of an ``UnknownRule`` as plain data (None without a rule)."""
    if rule is None:
        return None
    return {"coverage": float(rule.coverage), "confidence_threshold": float(rule.confidence_threshold),
            "distance_threshold": rule.distance_threshold,
            "appearance_threshold": rule.appearance_threshold}


class UnknownCheckWorker(Worker):
    """``finished({run_dir, rule: {...} | None, items: {path: {unknown, reason, confidence,
    distance, appearance} | {error}}})``.

    Args:
        run_dir: the run whose stored rule decides (the Classify panel's coverage control
            does not apply here: these are the run's own test images).
        paths: image files, or ``"<file>#<row>"`` of an array dataset (``dataset``).
        dataset: the loaded ``DatasetIndex`` (for array datasets), or None.
    """

    def __init__(self, run_dir: str, paths: list[str], dataset=None):
        super().__init__()
        self.run_dir, self.paths, self.dataset = run_dir, list(paths), dataset

    def work(self) -> dict:
        from training.data import DecodeError, decode_image, resize_to
        from workbench.workers.gallery_images import ArrayLookup
        from training.inference.predict import assessment_fields
        from workbench.workers.prediction import get_predictor

        predictor = get_predictor(self.run_dir)  # imports TensorFlow under the import lock
        trust = getattr(predictor, "trust", None)
        rule = getattr(trust, "rule", None)
        out = {"run_dir": self.run_dir, "rule": rule_fields(rule), "items": {}}
        if rule is None:
            return out
        lookup = ArrayLookup(self.dataset)
        size, mode = predictor.input_size, predictor.color_mode
        pending: list[tuple[str, np.ndarray]] = []

        def flush():
            if not pending:
                return
            res = predictor.assess_batch(np.stack([img for _, img in pending]))
            for n, (path, _) in enumerate(pending):
                fields = assessment_fields(res, n)
                fields["reason"] = fields.pop("unknown_reason")
                out["items"][path] = fields
            pending.clear()

        for i, path in enumerate(self.paths):
            self.events.check_stop()
            try:
                arr = lookup.get(path)
                img = resize_to(arr, size, mode) if arr is not None else decode_image(path, size, mode)
            except (DecodeError, OSError) as exc:
                out["items"][path] = {"error": getattr(exc, "reason", None) or str(exc)}
            else:
                pending.append((path, img))
                if len(pending) >= BATCH:
                    flush()
            self.events.on_progress(i + 1, len(self.paths), "checking for unknown answers")
        flush()
        return out
