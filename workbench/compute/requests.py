"""The app's compute requests, one :class:`ServiceJob` per kind of model job.

Each builds its request's parameters from what a panel holds (a ``DatasetIndex`` becomes
its ``DatasetSpec`` dict, or the pixels of the samples the request needs for an array
dataset) and gives the panel the same result its thread worker used to. The handlers
that answer them are in ``training/service/handlers/`` (docs/PROTOCOL.md).
"""
from __future__ import annotations

import numpy as np
from PySide6.QtCore import Signal

from workbench.compute.jobs import ServiceJob
from workbench.workers.gallery_images import ArrayLookup


def dataset_params(dataset) -> dict | None:
    """A ``DatasetSpec`` dict for a spec, a path or a ``DatasetIndex`` opened from a spec."""
    if dataset is None:
        return None
    from training.data import DatasetSpec

    spec = getattr(dataset, "spec", dataset)   # a DatasetIndex carries the spec it came from
    if spec is None:
        raise ValueError(f"The dataset {getattr(dataset, 'root', dataset)} was not opened from a "
                         "folder or file, so the compute service cannot open it.")
    return DatasetSpec.coerce(spec).to_dict()


def array_images(paths, dataset) -> list:
    """The pixels of each ``"<file>#<row>"`` sample of an array dataset (None for files)."""
    lookup = ArrayLookup(dataset)
    return [lookup.get(p) for p in paths]


class AutoChoiceJob(ServiceJob):
    """The Model panel's Auto choice for ``index``: ``finished`` carries
    ``AutoChoice.to_dict()`` (template, spec, reasons, epochs)."""

    method = "auto"

    def __init__(self, index, client=None) -> None:
        super().__init__(client=client)
        self.params = _with_dataset(self, {}, index)


class CheckImagesJob(ServiceJob):
    """The Dataset panel's up-front decode pass over ``index`` (in the service, which fills
    the decoded-image store). ``finished`` carries ``{"index": index, "bad": [{path,
    reason}]}``; the files it found are added to ``index`` (``bad_files``, ``unusable``)."""

    method = "check_images"

    def __init__(self, index, client=None) -> None:
        super().__init__(client=client)
        self.index = index
        self.params = _with_dataset(self, {}, index)

    def shape(self, data: dict) -> dict:
        from training.data.images import record_bad

        index, bad = self.index, []
        rows = None
        for item in data.get("bad") or []:
            row = item.get("row")
            if row is None or not 0 <= row < len(index) or index.paths[row] != item["path"]:
                rows = rows or {p: i for i, p in enumerate(index.paths)}   # another order: by path
                row = rows.get(item["path"])
            if row is not None:
                record_bad(index, row, item["reason"])
                bad.append({"path": item["path"], "reason": item["reason"]})
        return {"index": index, "bad": bad}


class DeviceProbeJob(ServiceJob):
    """``finished(dict)``: ``describe_devices()`` from the service (``name``, ``gpu_missing``…)."""

    method = "device"


class SummaryJob(ServiceJob):
    """The Model panel's layer table. ``finished`` carries ``{"rows", "total", "trainable",
    "errors": {layer_index | -1: message}, "backbone_layers"}``."""

    method = "summary"

    def __init__(self, spec_dict: dict, num_classes: int, client=None) -> None:
        super().__init__({"spec": spec_dict, "num_classes": int(num_classes)}, client=client)

    def shape(self, data: dict) -> dict:
        err = data.get("spec_error")
        if err is not None:
            layer = err.get("layer")
            return {"rows": [], "total": None, "trainable": None, "backbone_layers": None,
                    "errors": {(-1 if layer is None else int(layer)): str(err.get("message"))}}
        out = normalize_summary(data.get("summary") or {})
        out["backbone_layers"] = data.get("backbone_layers")
        return out


def normalize_summary(result: dict) -> dict:
    """``summarize()``'s dict (rows, totals, error) in the shape the panel shows."""
    rows = [r for r in result.get("rows", []) if isinstance(r, dict)]
    errors: dict[int, str] = {}
    err = result.get("error")
    if err:
        layer = err.get("layer")
        errors[-1 if layer is None else int(layer)] = str(err.get("message", err))
    for r in rows:
        if r.get("error") and r.get("index") is not None:
            errors.setdefault(int(r["index"]), str(r["error"]))
    total, trainable = result.get("total_params"), result.get("trainable_params")
    return {"rows": rows, "total": None if total is None else int(total),
            "trainable": None if trainable is None else int(trainable), "errors": errors}


def preview_rows(index, count: int) -> list:
    """Up to ``count`` training-split rows spread over the classes (one per class first)."""
    from training.data.index import TRAIN

    labels, splits = np.asarray(index.labels), np.asarray(index.splits)
    rows = []
    for c in range(len(index.classes)):
        hits = np.flatnonzero((labels == c) & (splits == TRAIN))
        if len(hits):
            rows.append(int(hits[0]))
        if len(rows) >= count:
            break
    return rows


class AugPreviewJob(ServiceJob):
    """A few training images, each augmented several times. ``finished`` carries
    ``{"originals", "variants", "paths", "errors"}`` (uint8 arrays)."""

    method = "aug_preview"

    def __init__(self, index, augmentation: dict, input_size, color_mode: str, images: int = 3,
                 variants: int = 4, seed: int = 0, client=None) -> None:
        paths = [index.paths[r] for r in preview_rows(index, images)]
        items = [{"path": p, "image": a} for p, a in zip(paths, array_images(paths, index))]
        super().__init__({"images": items, "augmentation": dict(augmentation),
                          "input_size": [int(v) for v in input_size], "color_mode": color_mode,
                          "variants": int(variants), "seed": int(seed)}, client=client)


class PredictionJob(ServiceJob):
    """Classify files and folders with a run, batch by batch.

    Signals:
        classes(list): the run's class names, once the model is loaded.
        results(int, list): the job id and, per batch, the rows (``{path, top_k,
            probabilities, error, thumb, faces, unknown, unknown_reason, confidence,
            distance, appearance}``; ``thumb`` a uint8 array or None).
    """

    method = "predict"
    classes = Signal(list)
    results = Signal(int, list)

    def __init__(self, run_dir: str, paths: list[str], top_k: int = 3, detect_faces=False,
                 thumb_side: int = 72, coverage: float | None = None, client=None) -> None:
        super().__init__({"run_dir": run_dir, "paths": list(paths), "top_k": int(top_k),
                          "detect_faces": bool(detect_faces), "thumb_side": int(thumb_side),
                          "coverage": coverage}, client=client)

    def partial(self, data: dict) -> None:
        if "classes" in data:
            self.classes.emit(list(data["classes"]))
        if "rows" in data:
            self.results.emit(self.job_id, list(data["rows"]))

    def shape(self, data: dict) -> int:
        return int(data.get("classified", 0))


def _with_dataset(job: ServiceJob, params: dict, dataset) -> dict:
    """``params`` plus ``dataset`` as a spec dict; a dataset the service can't reopen makes
    the job fail with the reason when it starts (not here, in a panel's slot)."""
    try:
        params["dataset"] = dataset_params(dataset)
    except ValueError as exc:
        params["dataset"], job.invalid = None, str(exc)
    return params


class EvaluationJob(ServiceJob):
    """Evaluate a run on its test split. ``finished`` carries ``{"run_dir", "evaluation"}``.

    Args:
        dataset: the run's dataset (a ``DatasetSpec``/``DatasetIndex``), or None for the
            one recorded in the run folder.
    """

    method = "evaluate"

    def __init__(self, run_dir: str, dataset=None, client=None) -> None:
        super().__init__(client=client)
        self.params = _with_dataset(self, {"run_dir": run_dir}, dataset)


class ExportJob(ServiceJob):
    """Export a run. ``finished`` carries ``export()``'s dict plus ``error`` (why the files
    were not written: a parity failure, shown with its table) or None."""

    method = "export"

    def __init__(self, run_dir: str, formats: list[str], out_dir: str | None = None,
                 quantize: str | None = None, force: bool = False, client=None) -> None:
        super().__init__({"run_dir": run_dir, "formats": list(formats), "out_dir": out_dir,
                          "quantize": quantize, "force": bool(force)}, client=client)


class GradCamJob(ServiceJob):
    """One heatmap: ``finished({path, class_index, heatmap, colored, method, layer, run_dir,
    requested})``. ``path`` is a file or an array dataset's ``"<file>#<row>"`` (``dataset``)."""

    method = "gradcam"

    def __init__(self, run_dir: str, path: str, class_index: int | None = None, dataset=None,
                 client=None) -> None:
        super().__init__({"run_dir": run_dir, "path": path, "class_index": class_index,
                          "image": ArrayLookup(dataset).get(path)}, client=client)


class HealthJob(ServiceJob):
    """Data health checks. ``finished(report dict)``.

    Args:
        dataset: a ``DatasetSpec`` or ``DatasetIndex`` (reopened by the service, so the
            latest label fixes apply).
        run_dir, folds, retrain, repeats: as ``training.health.check_health``.
    """

    method = "health"

    def __init__(self, dataset, run_dir: str | None = None, folds: int | None = None,
                 retrain: bool | None = None, repeats: int | None = None, client=None) -> None:
        super().__init__(client=client)
        self.params = _with_dataset(self, {"run_dir": run_dir, "folds": folds, "retrain": retrain,
                                           "repeats": repeats}, dataset)


class UnknownCheckJob(ServiceJob):
    """Would each gallery image be answered "unknown", and why. ``finished({run_dir, rule,
    items: {path: {unknown, reason, confidence, distance, appearance} | {error}}})``."""

    method = "unknown_check"

    def __init__(self, run_dir: str, paths: list[str], dataset=None, client=None) -> None:
        images = array_images(paths, dataset)
        super().__init__({"run_dir": run_dir, "paths": list(paths),
                          "images": images if any(i is not None for i in images) else None},
                         client=client)


class EmbeddingMapJob(ServiceJob):
    """The run's embedding map (``embedding_map``), streamed.

    Signals:
        points(dict): every point's facts (``paths``, ``labels``, ``splits``, ``predicted``,
            ``confidence``, ``probabilities``, ``unknown``, ``classes``), once.
        preview(object): the PCA preview, ``(n, 2)`` float32, before the final map.

    ``finished`` carries ``{"run_dir", "count", "method", "final": (n, 2) | None}``.
    """

    method = "embedding_map"
    points = Signal(dict)
    preview = Signal(object)

    def __init__(self, run_dir: str, final: bool = True, client=None) -> None:
        super().__init__({"run_dir": run_dir, "final": bool(final)}, client=client)

    def partial(self, data: dict) -> None:
        if "points" in data:
            self.points.emit(dict(data["points"]))
        if "preview" in data:
            self.preview.emit(data["preview"])


class SimilarJob(ServiceJob):
    """"More like this": the ``k`` training images nearest to each path (``similar``).
    ``finished({"run_dir", "k", "results": [{path, neighbours: [{path, label, split,
    distance, position}], error}]})``."""

    method = "similar"

    def __init__(self, run_dir: str, paths: list[str], k: int = 5, dataset=None,
                 client=None) -> None:
        images = array_images(paths, dataset) if dataset is not None else [None] * len(paths)
        super().__init__({"run_dir": run_dir, "paths": list(paths), "k": int(k),
                          "images": images if any(i is not None for i in images) else None},
                         client=client)
