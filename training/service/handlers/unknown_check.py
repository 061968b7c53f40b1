"""``unknown_check``: would each gallery image be answered "unknown", and why (the run's
rule, with the numbers behind each decision)."""
from __future__ import annotations

import numpy as np

from training.service.models import MODELS
from training.service.registry import handler

BATCH = 32


def rule_fields(rule) -> dict | None:
    """The thresholds of an ``UnknownRule`` as plain data (None without a rule)."""
    if rule is None:
        return None
    return {"coverage": float(rule.coverage), "confidence_threshold": float(rule.confidence_threshold),
            "distance_threshold": rule.distance_threshold,
            "appearance_threshold": rule.appearance_threshold}


@handler("unknown_check")
def unknown_check(request, run_dir: str, paths: list, images: list | None = None) -> dict:
    """``images``: for each path, its uint8 pixels (array datasets) or None (decode the file).

    Returns:
        ``{run_dir, rule: {...} | None, items: {path: {unknown, reason, confidence,
        distance, appearance} | {error}}}``.
    """
    from training.data import DecodeError, decode_image, resize_to
    from training.inference.predict import assessment_fields

    warm = MODELS.get(run_dir)
    predictor = warm.predictor
    rule = getattr(getattr(predictor, "trust", None), "rule", None)
    out = {"run_dir": run_dir, "rule": rule_fields(rule), "items": {}}
    if rule is None:
        return out
    images = images or [None] * len(paths)
    size, mode = predictor.input_size, predictor.color_mode
    pending: list[tuple[str, np.ndarray]] = []

    def flush():
        if not pending:
            return
        with warm.lock:
            res = predictor.assess_batch(np.stack([img for _, img in pending]))
        for n, (path, _) in enumerate(pending):
            fields = assessment_fields(res, n)
            fields["reason"] = fields.pop("unknown_reason")
            out["items"][path] = fields
        pending.clear()

    for i, (path, arr) in enumerate(zip(paths, images)):
        request.check_stop()
        try:
            img = resize_to(arr, size, mode) if arr is not None else decode_image(path, size, mode)
        except (DecodeError, OSError) as exc:
            out["items"][path] = {"error": getattr(exc, "reason", None) or str(exc)}
        else:
            pending.append((path, img))
            if len(pending) >= BATCH:
                flush()
        request.on_progress(i + 1, len(paths), "checking for unknown answers")
    flush()
    return out
