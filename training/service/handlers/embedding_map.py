"""``embedding_map`` and ``similar``: the Results panel's Map view and "more like this".

``embedding_map`` (batch lane) makes sure the run's feature store exists
(``training.embedmap.store``), sends every point's facts and then the PCA preview as
partial results, and ends with the UMAP map (``training.embedmap.projection``), all
cached in the run folder. ``similar`` (interactive lane) answers "which training images
does this look like" with an exact search over the stored features; the search index is
kept warm per run while its store is unchanged.
"""
from __future__ import annotations

import threading

import numpy as np

from training.service.models import MODELS
from training.service.registry import handler

_INDEXES: dict = {}   # run_dir -> (store stamp, store, NeighbourIndex)
_LOCK = threading.Lock()


def points(store) -> dict:
    """Every point's facts as plain data (arrays travel as bytes)."""
    return {"paths": [str(p) for p in store.paths], "labels": store.labels.astype(np.int32),
            "splits": store.splits.astype(np.int8), "predicted": store.predicted.astype(np.int32),
            "confidence": store.confidence.astype(np.float32),
            "probabilities": store.probabilities.astype(np.float32),
            "unknown": store.unknown.astype(np.uint8), "classes": list(store.classes),
            "stamp": store.stamp}


def _dataset(dataset: dict | None):
    from training.data import DatasetSpec

    return DatasetSpec.from_dict(dataset) if dataset else None


@handler("embedding_map", lane="batch")
def embedding_map(request, run_dir: str, final: bool = True, dataset: dict | None = None) -> dict:
    """Partial results: ``{"points": points(store)}``, then ``{"preview": (n, 2) float32}``.

    Returns:
        ``{"run_dir", "count", "method": "umap" | "pca", "final": (n, 2) | None, "stamp"}``.
    """
    from training.embedmap.projection import ensure_map
    from training.embedmap.store import ensure_run_features

    store = ensure_run_features(run_dir, _dataset(dataset), request)
    request.partial({"points": points(store)})
    result = ensure_map(store, request, final=bool(final),
                        on_preview=lambda xy: request.partial({"preview": xy, "stamp": store.stamp}))
    return {"run_dir": run_dir, "count": len(store), "method": result["method"],
            "final": result["final"], "stamp": store.stamp}


def warm_index(run_dir: str, request=None):
    """``(store, NeighbourIndex)`` of the run, built once per feature store."""
    from training.embedmap.store import ensure_run_features, open_run_features
    from training.embedmap.similar import NeighbourIndex

    store = open_run_features(run_dir)
    with _LOCK:
        entry = _INDEXES.get(run_dir)
        if store is not None and entry is not None and entry[0] == store.stamp:
            return entry[1], entry[2]
    if store is None:
        store = ensure_run_features(run_dir, None, request)
    index = NeighbourIndex.from_store(store)
    with _LOCK:
        _INDEXES[run_dir] = (store.stamp, store, index)
    return store, index


@handler("similar")
def similar(request, run_dir: str, paths: list, k: int = 5, images: list | None = None) -> dict:
    """``images``: per path, its uint8 pixels (array datasets, or a photo already decoded)
    or None (decode the file).

    Returns:
        ``{"run_dir", "k", "results": [{path, neighbours: [{path, label, split, distance,
        position}], error}]}``.
    """
    from training.embedmap.similar import similar_to_paths
    from training.features.embeddings import Embedder
    from training.runs.runfolder import run_of

    run_dir = str(run_of(run_dir) or run_dir)   # an exported model: the run it came from
    request.on_status("Finding similar training images…")
    store, index = warm_index(run_dir, request)
    request.check_stop()

    def embed(x):
        warm = MODELS.get(run_dir)
        with warm.lock:   # one use of the model at a time; the embedder is built once per model
            emb = warm.extras.get("embedder")
            if emb is None:
                emb = warm.extras["embedder"] = Embedder(warm.predictor.model)
            return emb.embed_batch(x)

    predictor = MODELS.get(run_dir).predictor if _needs_model(store, paths) else None
    size = getattr(predictor, "input_size", None)
    mode = getattr(predictor, "color_mode", "rgb")
    results = similar_to_paths(store, index, list(paths), int(k), embed, images, size, mode)
    return {"run_dir": run_dir, "k": int(k), "results": results}


def _needs_model(store, paths) -> bool:
    rows = store.row_of()
    return any(str(p) not in rows for p in paths)
