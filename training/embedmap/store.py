"""Every image's penultimate features, stored with the run (the embedding map's data).

One pass of the run's model over every split of its dataset writes, into the run folder
(file names: ``training.runs.runfolder``):

- ``features.npy``: ``(n, dim)`` float32, filled batch by batch through
  ``np.lib.format.open_memmap`` under a temporary name and renamed when complete, so
  70,000 images' features are never in memory at once (nor ever twice);
- ``features_rows.npz``: per row its index row, path, label, split, calibrated
  probabilities, predicted class and the run's "unknown" decision;
- ``features.json``: the schema, the model file it came from (name, size, mtime: a
  retrained or resumed model makes the store stale) and the dataset's fingerprint.

The features come from :class:`training.features.embeddings.Embedder` (the one owner of
"what the model sees"). Exported models never need these files.

    store = ensure_run_features(run_dir, events=events)   # computes when missing or stale
    store.features[store.train_rows()]                     # memory-mapped
"""
from __future__ import annotations

import logging
import os
import time
from dataclasses import dataclass

import numpy as np

from training import safefiles
from training.events import Events
from training.runs.runfolder import RunError, RunFolder, read_json, write_json

log = logging.getLogger(__name__)

SCHEMA_VERSION = 1
ROW_FIELDS = ("rows", "paths", "labels", "splits", "probabilities", "predicted", "confidence",
              "unknown")
BATCH = 128


@dataclass
class RunFeatures:
    """An opened feature store: ``features`` is a read-only memory map; the other arrays
    are per row (``paths`` as ``str``)."""

    run_dir: str
    features: np.ndarray
    rows: np.ndarray
    paths: np.ndarray
    labels: np.ndarray
    splits: np.ndarray
    probabilities: np.ndarray
    predicted: np.ndarray
    confidence: np.ndarray
    unknown: np.ndarray
    classes: list
    info: dict

    def __len__(self) -> int:
        return len(self.rows)

    @property
    def stamp(self) -> str:
        """Changes whenever the store is rewritten (caches key on it)."""
        return f"{self.info.get('created')}:{self.info.get('count')}:{self.info.get('model')}"

    def row_of(self) -> dict:
        """``{path: position}`` (built on demand; 70,000 paths take ~20 ms)."""
        cached = getattr(self, "_row_of", None)
        if cached is None:
            cached = {str(p): i for i, p in enumerate(self.paths)}
            self._row_of = cached
        return cached


def model_stamp(folder: RunFolder) -> dict:
    """The model file features are computed from, as ``{file, size, mtime_ns}``."""
    path = folder.model_file("final")
    st = os.stat(path)
    return {"file": path.name, "size": int(st.st_size), "mtime_ns": int(st.st_mtime_ns)}


def compute_run_features(run_dir, dataset=None, events: Events | None = None,
                         batch_size: int = BATCH) -> RunFeatures:
    """One pass of the run's model over every image of every split (see module docstring).

    Args:
        dataset: a ``DatasetSpec``/``DatasetIndex`` instead of the one recorded in the run.
        events: progress (``on_progress``) and stop requests (between batches).

    Raises:
        RunError: no model, or a dataset whose classes differ from the run's.
        Stopped: a stop was requested (nothing is written then).
    """
    from training.data import open_images
    from training.features.embeddings import Embedder
    from training.inference.predict import Predictor

    events = events or Events()
    t0 = time.perf_counter()
    folder = RunFolder(run_dir)
    events.on_status("Loading the model…")
    stamp = model_stamp(folder)
    predictor = Predictor(run_dir)
    index, _warnings = folder.open_dataset(dataset, events)
    if list(index.classes) != list(predictor.classes):
        raise RunError(f"The dataset's classes {list(index.classes)} differ from the run's "
                       f"classes {list(predictor.classes)}.")
    emb = Embedder(predictor.model, batch_size)
    n = len(index)
    c = len(predictor.classes)
    rows = np.zeros(n, np.int64)
    probs = np.zeros((n, c), np.float32)
    unknown = np.zeros(n, bool)
    filled = 0
    what = "Computing the model's features of every image"
    with safefiles.atomic_path(folder.features_npy) as tmp, \
            open_images(index, predictor.input_size, predictor.color_mode, events) as data:
        out = np.lib.format.open_memmap(tmp, mode="w+", dtype=np.float32, shape=(n, emb.dim))
        for x, _y, kept in data.batches(np.arange(n), batch_size):
            events.check_stop()
            if len(x):
                f, raw = emb.embed_batch(x, with_probabilities=True)
                res = predictor.trust.assess(raw, f, images=x)
                m = len(kept)
                out[filled:filled + m] = f
                rows[filled:filled + m] = kept
                probs[filled:filled + m] = res["probabilities"]
                unknown[filled:filled + m] = res["unknown"]
                filled += m
            events.on_progress(min(filled, n), n, what)
        out.flush()
        del out
        _write_rows(folder, index, rows[:filled], probs[:filled], unknown[:filled])
    info = {"schema_version": SCHEMA_VERSION, "count": int(filled), "dim": int(emb.dim),
            "model": stamp, "dataset_fingerprint": index.fingerprint(),
            "classes": list(predictor.classes), "created": time.time(),
            "seconds": round(time.perf_counter() - t0, 3)}
    write_json(folder.features_json, info)
    log.info("Features of %d images (%d-d) for %s in %.1f s", filled, emb.dim, run_dir,
             info["seconds"])
    store = open_run_features(run_dir, check_model=False)
    assert store is not None
    return store


def _write_rows(folder: RunFolder, index, rows, probs, unknown) -> None:
    paths = np.asarray([index.paths[r] for r in rows], dtype=str)
    with safefiles.atomic_path(folder.features_rows_npz) as tmp:
        with open(tmp, "wb") as f:
            np.savez(f, rows=rows, paths=paths,
                     labels=np.asarray(index.labels)[rows].astype(np.int32),
                     splits=np.asarray(index.splits)[rows].astype(np.int8),
                     probabilities=probs, predicted=probs.argmax(axis=1).astype(np.int32)
                     if len(probs) else np.zeros(0, np.int32),
                     confidence=probs.max(axis=1) if len(probs) else np.zeros(0, np.float32),
                     unknown=unknown)


def open_run_features(run_dir, check_model: bool = True) -> RunFeatures | None:
    """The run's feature store, or None when there is none or it is stale (the model was
    rewritten since). ``features`` stays on disk (read-only memory map).

    Raises:
        RunError: the files are there but damaged, or from a newer version.
    """
    folder = RunFolder(run_dir)
    if not folder.features_json.is_file():
        return None
    info = read_json(folder.features_json)
    if not isinstance(info, dict):
        raise RunError(f"{folder.features_json} is not a JSON object")
    safefiles.check_schema(info, "feature store", SCHEMA_VERSION, where=folder.features_json,
                           error=RunError)
    if check_model:
        try:
            if model_stamp(folder) != info.get("model"):
                log.info("The model of %s changed since its features were computed", run_dir)
                return None
        except (OSError, RunError):
            return None
    n, dim = int(info.get("count", -1)), int(info.get("dim", -1))
    try:
        feats = np.load(folder.own_file(folder.features_npy), mmap_mode="r", allow_pickle=False)
        safefiles.check_archive(folder.features_rows_npz, 64 * safefiles.MiB + n * 2048)
        with np.load(folder.own_file(folder.features_rows_npz), allow_pickle=False) as z:
            arrays = {k: z[k] for k in ROW_FIELDS}
    except (OSError, ValueError, KeyError, safefiles.UntrustedFileError) as exc:
        raise RunError(f"The feature store of {run_dir} is damaged ({exc}); it is computed "
                       "again when the map is next asked for.") from None
    if feats.ndim != 2 or feats.shape[1] != dim or feats.shape[0] < n \
            or any(len(a) != n for a in arrays.values()):
        raise RunError(f"The feature store of {run_dir} is inconsistent: {feats.shape} features "
                       f"for {n} rows of {dim} values.")
    return RunFeatures(str(run_dir), feats[:n], classes=list(info.get("classes") or []),
                       info=info, **arrays)


def ensure_run_features(run_dir, dataset=None, events: Events | None = None) -> RunFeatures:
    """The run's feature store, computed first when missing, stale or damaged."""
    try:
        store = open_run_features(run_dir)
    except RunError as exc:
        log.warning("%s", exc)
        store = None
    return store if store is not None else compute_run_features(run_dir, dataset, events)
