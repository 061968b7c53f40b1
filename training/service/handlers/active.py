"""``active_round``: train the suggestion model on the labels given so far and rank the
unlabelled images (what "Label next" shows), with the accuracy estimate of the round."""
from __future__ import annotations

import hashlib
import os
import threading

import numpy as np

from training.active.strategies import DEFAULT_STRATEGY
from training.service.registry import handler

# The frozen backbone's features of the last dataset, kept for its next rounds (one
# dataset at a time: the app labels one).
_BACKBONE = {"key": None, "cache": None}
_LOCK = threading.Lock()


@handler("active_round", lane="batch")
def active_round(request, paths: list, labels: list, classes: list, input_size=(64, 64),
                 color_mode: str = "rgb", strategy: str = DEFAULT_STRATEGY, count: int = 50,
                 seed: int = 0, batch: int | None = None) -> dict:
    """Args:
        paths: every image of the dataset, labelled or not, in a stable order.
        labels: per path its class name, or None when it is unlabelled.
        classes: the class names (every label is one of them).
        input_size, color_mode: the dataset's images (the small CNN sees at most 64x64).
        strategy: a key of ``training.active.strategies.STRATEGIES``.
        count: how many images the queue holds.
        batch: labels the person gives before the next round: ``badge``/``diverse`` spread the
            first ``batch`` of the queue over what the model sees (default ``count``).

    Returns:
        ``{items: [{path, suggested, score, confidence, held_back}], point: {labels, trained_on,
        held_back, accuracy}, strategy, pool, seconds: {train, rank}, model}``.
    """
    from training.active.fastmodel import fast_spec
    from training.active.rounds import run_round
    from training.active.strategies import STRATEGIES
    from training.data import DatasetError, open_images
    from training.data.index import DatasetIndex
    from training.models import can_precompute_features

    if strategy not in STRATEGIES:
        raise DatasetError(f"Unknown strategy (known: {', '.join(STRATEGIES)}). Received: {strategy!r}")
    if len(paths) != len(labels):
        raise DatasetError(f"One label (or None) per path is needed. Received: {len(paths)} paths, "
                           f"{len(labels)} labels")
    where = {c: i for i, c in enumerate(classes)}
    unknown = sorted({str(c) for c in labels if c is not None and c not in where})
    if unknown:
        raise DatasetError(f"Labels that are not among the classes: {', '.join(unknown[:5])}")
    y = np.array([-1 if c is None else where[c] for c in labels], np.int64)
    spec = fast_spec(input_size, color_mode)
    root = os.path.commonpath([os.path.dirname(p) for p in paths]) if paths else ""
    index = DatasetIndex(root=root, kind="folders", classes=list(classes), paths=list(paths),
                         labels=np.zeros(len(paths), np.int32), splits=np.zeros(len(paths), np.uint8))
    with _LOCK:
        cache = None
        if can_precompute_features(spec):
            key = hashlib.sha256("\n".join(paths).encode("utf-8", "surrogatepass")).hexdigest()
            if _BACKBONE["key"] != key:
                _BACKBONE.update(key=key, cache=None)
            cache = _BACKBONE["cache"]
        request.on_status("Reading the images…")
        data = open_images(index, spec.input_size, spec.color_mode, request)
        try:
            result = run_round(data.read, y, paths, list(classes), spec, strategy, int(count),
                               int(seed), events=request, backbone_cache=cache,
                               batch=None if batch is None else int(batch))
        finally:
            data.close()
        if cache is None and can_precompute_features(spec):
            _BACKBONE["cache"] = getattr(result, "backbone_cache", None)
    return {"items": result.items(paths, list(classes)), "point": result.point(),
            "strategy": strategy, "pool": result.pool,
            "seconds": {k: round(v, 3) for k, v in result.seconds.items()},
            "model": "frozen MobileNetV2 features + a new head" if can_precompute_features(spec)
                     else "small CNN"}
