"""Batch photo classification for the Classify panel, plus Haar-cascade face detection.

The ``Predictor`` (a loaded Keras model, safe mode on) is kept in a one-entry cache in
this module so opening more photos with the same run does not reload the model. Widgets
never see it: they get plain dicts with numpy thumbnails.
"""
from __future__ import annotations

import os
import threading

import numpy as np
from PySide6.QtCore import Signal

from workbench.workers.base import Worker
from training.inference.faces import detect_faces
from workbench.workers.gallery_images import load_image

_BATCH = 16
_cache_lock = threading.Lock()
_cache: dict = {}          # {"key": (run_dir, mtime), "predictor": Predictor}


def get_predictor(run_dir: str):
    """The run's ``Predictor`` (or an exported model's), loaded once and reused while the
    run folder (or the file) is unchanged."""
    from training.export.predictor import detect_format, open_predictor
    from workbench.workers.tfload import ensure_tensorflow

    if detect_format(run_dir) not in ("onnx", "tflite"):  # those run without TensorFlow
        ensure_tensorflow()  # never import TF from two threads at once (see tfload)

    from training.runs.runfolder import RunError, RunFolder

    try:
        model_path = RunFolder(run_dir).model_file("final")
    except RunError:
        model_path = run_dir   # a .keras file itself, or Predictor says what is missing
    key = (os.path.abspath(run_dir), os.path.getmtime(model_path))
    with _cache_lock:
        if _cache.get("key") == key:
            return _cache["predictor"]
    predictor = open_predictor(run_dir)  # a run folder, or an exported file / SavedModel
    with _cache_lock:
        _cache.clear()
        _cache.update(key=key, predictor=predictor)
    return predictor


class PredictionWorker(Worker):
    """Classify files and folders with a saved run, batch by batch.

    Args:
        run_dir: the run whose model classifies.
        paths: files and/or folders.
        top_k: how many classes each result lists.
        detect_faces: also run the Haar face detector on each photo.
        coverage: answer this share of the validation images (the unknown rule's
            confidence threshold; None keeps the run's).

    Signals:
        classes(list): the run's class names, once the model is loaded.
        results(int, list): the job id and, per batch, dicts ``{path, top_k, probabilities, error, thumb,
            faces, unknown, unknown_reason, confidence, distance, appearance}`` (``thumb`` a
            uint8 array or None).
    """

    classes = Signal(list)
    results = Signal(int, list)  # job id (see JobRunner), rows

    def __init__(self, run_dir: str, paths: list[str], top_k: int = 3, detect_faces=False,
                 thumb_side: int = 72, coverage: float | None = None):
        super().__init__()
        self.coverage = coverage  # the Classify panel's coverage control (None: the run's)
        self.run_dir, self.paths, self.top_k = run_dir, list(paths), top_k
        self.detect, self.thumb_side = detect_faces, thumb_side

    def work(self) -> int:
        self.events.on_status("Listing photos…")
        from training.inference.predict import expand_paths

        files = expand_paths(self.paths)
        if not files:
            raise ValueError(f"No image files found in: {', '.join(self.paths)}")
        self.events.on_status("Loading the model…")
        predictor = get_predictor(self.run_dir)
        self.classes.emit(list(predictor.classes))
        done = 0
        for start in range(0, len(files), _BATCH):
            self.events.check_stop()
            batch = files[start:start + _BATCH]
            rows = predictor.predict_paths(batch, top_k=self.top_k)
            rule = getattr(getattr(predictor, "trust", None), "rule", None)
            if rule is not None and self.coverage is not None:
                from training.trust.unknown import decide_rows

                decide_rows(rule.with_coverage(self.coverage), rows)
            out = []
            for row in rows:
                out.append(self._decorate(dict(row)))
            done += len(batch)
            self.results.emit(self.job_id, out)
            self.events.on_progress(done, len(files), "Classifying photos")
        return done

    def _decorate(self, row: dict) -> dict:
        row["thumb"], row["faces"] = None, None
        probs = row.get("probabilities")
        if probs is not None:
            row["probabilities"] = [float(p) for p in np.asarray(probs).ravel()]
        if row.get("error"):
            return row
        try:
            preview = load_image(row["path"], 480 if self.detect else self.thumb_side)
            if self.detect:
                row["faces"] = detect_faces(preview)
            from workbench.workers.gallery_images import fit_size

            row["thumb"] = fit_size(preview, self.thumb_side)
        except Exception as exc:  # noqa: BLE001 - the prediction stands without a thumbnail
            row["thumb_error"] = str(exc)
        return row
