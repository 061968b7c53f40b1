"""``predict``: classify photos and folders with a run (or an exported model), streaming
rows batch by batch, each with a thumbnail and, when asked, the faces found."""
from __future__ import annotations

import numpy as np

from training.service.models import MODELS
from training.service.registry import handler

BATCH = 16


@handler("predict")
def predict(request, run_dir: str, paths: list, top_k: int = 3, coverage: float | None = None,
            detect_faces: bool = False, thumb_side: int = 72) -> dict:
    """Partial results: ``{"classes": [...]}`` once the model is loaded, then ``{"rows":
    [...]}`` per batch, each row ``Predictor.predict_paths``' dict plus ``thumb`` (uint8
    array or None) and ``faces`` (``[[x, y, w, h]]`` fractions, or None when not asked).

    Args:
        coverage: answer this share of the validation images (the unknown rule's
            confidence threshold; None keeps the run's).

    Returns:
        ``{"classified": number of files}``.
    """
    from training.inference.predict import expand_paths

    request.on_status("Listing photos…")
    files = expand_paths(paths)
    if not files:
        raise FileNotFoundError(f"No image files found in: {', '.join(map(str, paths))}")
    request.on_status("Loading the model…")
    warm = MODELS.get(run_dir)
    predictor = warm.predictor
    request.partial({"classes": list(predictor.classes)})
    rule = getattr(getattr(predictor, "trust", None), "rule", None)
    done = 0
    for start in range(0, len(files), BATCH):
        request.check_stop()
        batch = files[start:start + BATCH]
        with warm.lock:
            rows = predictor.predict_paths(batch, top_k=top_k)
        if rule is not None and coverage is not None:
            from training.trust.unknown import decide_rows

            decide_rows(rule.with_coverage(float(coverage)), rows)
        request.partial({"rows": [decorate(dict(r), detect_faces, thumb_side) for r in rows]})
        done += len(batch)
        request.on_progress(done, len(files), "Classifying photos")
    return {"classified": done}


def decorate(row: dict, detect: bool, thumb_side: int) -> dict:
    """Add ``thumb`` and ``faces`` to a prediction row (a failure leaves ``thumb_error``)."""
    from training.data import decode_to_fit, fit_in_box

    row["thumb"], row["faces"] = None, None
    probs = row.get("probabilities")
    if probs is not None:
        row["probabilities"] = [float(p) for p in np.asarray(probs).ravel()]
    if row.get("error"):
        return row
    try:
        preview = decode_to_fit(row["path"], 480 if detect else thumb_side)
        if detect:
            from training.inference.faces import detect_faces

            row["faces"] = detect_faces(preview)
        row["thumb"] = fit_in_box(preview, thumb_side)
    except Exception as exc:  # noqa: BLE001 - the prediction stands without a thumbnail
        row["thumb_error"] = str(exc)
    return row
