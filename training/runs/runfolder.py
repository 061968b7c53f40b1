"""One run folder: reading its files, loading its model (Keras safe mode), closing a run
whose process died, and reopening its dataset.

``RunFolder(path)`` is the read side every caller uses (train, evaluate, predict, the CLI
and the GUI workers). The file names and the reading and writing of single files are
``training.runs.files`` (re-exported here, the run folder's public face); a training's
writer is ``training.runs.writer.RunWriter``; listing many runs is
``training.runs.listing``. No TensorFlow is imported at module level, so reading a run is
cheap.
"""
from __future__ import annotations

import contextlib
import logging
import os
import time
from pathlib import Path

from training import safefiles
from training.runs import checks
# The run folder's public names, re-exported: callers import them from here.
from training.runs.files import (  # noqa: F401
    CALIBRATION_JSON, CLASSES_JSON, CONFIG_JSON, DATASET_JSON, DEFAULT_JSON_LIMIT, EVALUATION_JSON,
    EVALUATION_NPZ, EXPORTS_DIR, FEATURES_JSON, FEATURES_NPY, FEATURES_ROWS_NPZ, HISTORY_JSON, JSON_LIMITS,
    LABEL_OVERLAY_JSON, LIVE_JSON, MAP_NPZ, MAX_JSON_CELLS, MODEL_BEST, MODEL_CHOICES, MODEL_FINAL,
    MODEL_LAST, RESULT_FILES, RUN_JSON, SCHEMA_VERSION, SIGNATURE_JSON, SPEC_JSON, STATUSES, STOP_REQUEST,
    TENSORBOARD_DIR, TRANSIENT_SUFFIXES, UNKNOWN_JSON, UNKNOWN_REFERENCE_NPZ, RunError, UnsafeModelError,
    default_runs_root, json_limit, load_model_file, new_run_dir, read_json, run_of, shown, write_json,
)
from training.runs.processes import is_alive

log = logging.getLogger(__name__)


class RunFolder:
    """The files of one run folder, and what can be done with them.

    Path properties name every file; new artifacts get their home here (a property and
    a constant above), never a name spelled out elsewhere.
    """

    def __init__(self, path: str | os.PathLike):
        self.path = Path(path)

    def __fspath__(self) -> str:
        return str(self.path)

    def __repr__(self) -> str:
        return f"RunFolder({str(self.path)!r})"

    # layout
    run_json = property(lambda self: self.path / RUN_JSON)
    spec_json = property(lambda self: self.path / SPEC_JSON)
    config_json = property(lambda self: self.path / CONFIG_JSON)
    dataset_json = property(lambda self: self.path / DATASET_JSON)
    classes_json = property(lambda self: self.path / CLASSES_JSON)
    history_json = property(lambda self: self.path / HISTORY_JSON)
    evaluation_json = property(lambda self: self.path / EVALUATION_JSON)
    evaluation_npz = property(lambda self: self.path / EVALUATION_NPZ)
    model_best = property(lambda self: self.path / MODEL_BEST)
    model_final = property(lambda self: self.path / MODEL_FINAL)
    model_last = property(lambda self: self.path / MODEL_LAST)   # resume checkpoint
    exports_dir = property(lambda self: self.path / EXPORTS_DIR)            # ONNX, LiteRT, SavedModel
    tensorboard_dir = property(lambda self: self.path / TENSORBOARD_DIR)    # TensorBoard event files
    calibration_json = property(lambda self: self.path / CALIBRATION_JSON)  # temperature etc.
    unknown_json = property(lambda self: self.path / UNKNOWN_JSON)          # the unknown rule
    unknown_reference_npz = property(lambda self: self.path / UNKNOWN_REFERENCE_NPZ)
    label_overlay_json = property(lambda self: self.path / LABEL_OVERLAY_JSON)  # labels trained with
    features_npy = property(lambda self: self.path / FEATURES_NPY)              # embedding map
    features_rows_npz = property(lambda self: self.path / FEATURES_ROWS_NPZ)
    features_json = property(lambda self: self.path / FEATURES_JSON)
    map_npz = property(lambda self: self.path / MAP_NPZ)
    stop_request = property(lambda self: self.path / STOP_REQUEST)   # another process asks to stop
    live_json = property(lambda self: self.path / LIVE_JSON)         # the trainer's latest status

    def is_run(self) -> bool:
        """A folder with a ``run.json`` (valid or not)."""
        return self.run_json.is_file()

    def has_evaluation(self) -> bool:
        return self.evaluation_json.is_file()

    # reading
    def load(self) -> dict:
        """Read and validate ``run.json``; a dead ``running`` run is reported as ``interrupted``.

        Returns:
            The run.json dict plus ``path``, ``name`` and ``classes`` (from classes.json).

        Raises:
            RunError: no such folder, missing/malformed/truncated run.json, a newer
                ``schema_version`` or a field of the wrong type.
        """
        if not self.path.is_dir():
            raise RunError(f"Not a run folder: {self.path} does not exist or is not a folder")
        where = self.run_json
        data = read_json(where)
        try:
            checks.check_run_record(data, where)
        except checks.SchemaError as exc:
            raise RunError(str(exc)) from None
        if data["status"] == "running" and not is_alive(data):
            data["status"] = "interrupted"
        data["path"] = str(self.path)
        data["name"] = self.path.name
        try:
            classes = read_json(self.classes_json)
            data["classes"] = [str(c) for c in classes] if isinstance(classes, list) else []
        except RunError:
            data.setdefault("classes", [])
        return data

    def read_info(self) -> dict:
        """``run.json`` as written (not validated: see :meth:`load`); RunError when it is
        missing, unreadable or not a JSON object."""
        data = read_json(self.run_json)
        if not isinstance(data, dict):
            raise RunError(f"{self.run_json} must hold a JSON object. Received: {type(data).__name__}")
        return data

    def edit_info(self, **fields) -> dict:
        """Set fields of a finished or stopped run's ``run.json`` (a display name, notes);
        an empty value (``""``, ``None``) removes the field. Atomic (temp + replace).

        Returns the new run.json. Raises RunError when the folder is not a valid run.
        """
        self.load()   # a clear RunError for a folder that is not a run
        info = self.read_info()
        for key, value in fields.items():
            if value:
                info[key] = value
            else:
                info.pop(key, None)
        write_json(self.run_json, info)
        return info

    def read_spec(self) -> dict:
        """``spec.json`` (the model spec as a dict); RunError when missing or unreadable."""
        return read_json(self.spec_json)

    def read_config(self) -> dict:
        """``config.json`` (the training settings as a dict); RunError when missing or unreadable."""
        return read_json(self.config_json)

    def read_dataset(self) -> dict | None:
        """``dataset.json`` (the dataset's spec and size), or None when missing or not an object."""
        try:
            data = read_json(self.dataset_json)
        except RunError:
            return None
        return data if isinstance(data, dict) else None

    def read(self, name: str):
        """One JSON file of the run by its constant (``SPEC_JSON``…); RunError if unreadable."""
        return read_json(self.path / name)

    def classes(self) -> list[str] | None:
        """``classes.json`` as strings, or None when missing or not a list."""
        try:
            classes = read_json(self.classes_json)
        except RunError:
            return None
        return [str(c) for c in classes] if isinstance(classes, list) else None

    def history(self) -> list[dict]:
        """``history.json``: one dict per epoch ([] when missing or malformed). Entries
        that are not epochs are dropped, and each keeps only numbers, short text,
        booleans and None (``checks.clean_epoch``): a chart never meets a foreign type."""
        try:
            history = read_json(self.history_json)
        except RunError:
            return []
        if not isinstance(history, list):
            log.warning("%s is not a list of epochs; no curves shown", self.history_json)
            return []
        epochs = [e for e in map(checks.clean_epoch, history) if e is not None]
        if len(epochs) < len(history):
            log.warning("%s: %d entries are not epochs and are left out", self.history_json,
                        len(history) - len(epochs))
        return epochs

    def write_evaluation(self, result: dict, max_json_cells: int | None = None) -> None:
        """Write ``evaluation.json`` (probabilities in ``evaluation.npz`` when large)."""
        import numpy as np

        limit = MAX_JSON_CELLS if max_json_cells is None else max_json_cells
        out = dict(result)
        if result["num_samples"] * len(result["classes"]) > limit:
            probs = np.array([p["probabilities"] for p in result["predictions"]], dtype=np.float32)
            tmp = self._fresh(EVALUATION_NPZ + ".tmp.npz")
            np.savez_compressed(tmp, probabilities=probs)
            os.replace(tmp, self.evaluation_npz)
            out["predictions"] = [{k: v for k, v in p.items() if k != "probabilities"}
                                  for p in result["predictions"]]
            out["probabilities_file"] = EVALUATION_NPZ
        # Compact: Python's json encodes an indented document in pure Python, 3.5x slower
        # (0.51 s against 0.15 s for 10,000 test images, part of every run's fixed cost
        # after fit; issue 21). People read the evaluation in the app, not in this file.
        write_json(self.evaluation_json, out, indent=None)

    def read_evaluation(self) -> dict:
        """``evaluation.json``, schema-checked (``checks.check_evaluation``), with
        per-sample probabilities restored from the .npz.

        Raises:
            RunError: missing, too large, malformed, or a field of the wrong type/size.
        """

        result = read_json(self.evaluation_json)
        if not isinstance(result, dict) or "predictions" not in result:
            raise RunError(f"{self.evaluation_json} is not an evaluation result")
        try:
            checks.check_evaluation(result, self.evaluation_json)
        except checks.SchemaError as exc:
            raise RunError(str(exc)) from None
        if result.get("probabilities_file"):
            n, c = len(result["predictions"]), len(result["classes"])
            probs = self._read_probabilities(n, c)
            by_row = {}
            for p, row in zip(result["predictions"], probs):
                p["probabilities"] = row.tolist()
                by_row[p["row"]] = p["probabilities"]
            for key in ("most_incorrect", "random_sample"):
                for p in result.get(key, []):
                    p.setdefault("probabilities", by_row.get(p["row"]))
        return result

    def _read_probabilities(self, n: int, c: int):
        """``evaluation.npz``'s ``n`` x ``c`` float32 probabilities. The archive's
        declared size is checked before anything is decompressed, so a zip bomb in a
        shared run folder is refused instead of filling memory."""
        import numpy as np

        path = self.evaluation_npz
        if not safefiles.inside(self.path, path) or not path.is_file():
            raise RunError(f"{path} is missing, or a link out of the run folder")
        try:
            safefiles.check_archive(path, n * c * 4 + 4096)   # the array plus its header
            with np.load(path, allow_pickle=False) as npz:
                probs = npz["probabilities"]
        except safefiles.UntrustedFileError as exc:
            raise RunError(str(exc)) from None
        except (OSError, ValueError, KeyError) as exc:
            raise RunError(f"Could not read {path}: {exc}") from None
        if probs.shape != (n, c) or not np.isfinite(probs).all():
            raise RunError(f"{path} holds {probs.shape} probabilities, some not finite, or "
                           f"not the {n} x {c} that {EVALUATION_JSON} lists.")
        return probs

    def update_info(self, **fields) -> None:
        """Set fields of ``run.json`` (read, change, atomic write) after the run ended,
        e.g. a later evaluation's test accuracy. Nothing happens without a readable file."""
        try:
            data = read_json(self.run_json)
        except RunError:
            return
        if isinstance(data, dict):
            data.update(fields)
            write_json(self.run_json, data)

    def close_dead_run(self, status: str = "interrupted", reason: str = "") -> bool:
        """Record that the process training this run died without ending it (killed,
        crashed, force-stopped): a ``running`` run.json whose process is gone gets
        ``status`` (``"interrupted"``, or ``"stopped"`` when a person ended it), the time
        and ``reason``. Nothing else changes: the last epoch's checkpoint is what a
        resume continues from. Returns True when run.json was changed.
        """
        if status not in ("interrupted", "stopped"):
            raise ValueError(f"status must be 'interrupted' or 'stopped'. Received: {status!r}")
        try:
            info = self.read_info()
        except RunError:
            return False
        if info.get("status") != "running" or is_alive(info):
            return False
        # It ended at its last sign of life, not now (found dead later, e.g. after a
        # restart, it would otherwise count the hours in between as training time).
        info.update(status=status, finished=self._last_write())
        if reason:
            info["ended"] = reason
        write_json(self.run_json, info)
        return True

    def _last_write(self) -> float:
        """When the trainer last wrote one of the run's progress files (now if none)."""
        times = []
        for path in (self.run_json, self.history_json, self.path / LIVE_JSON):
            try:
                times.append(os.stat(path).st_mtime)
            except OSError:
                pass
        return max(times, default=time.time())

    # the model
    def model_file(self, which: str = "final") -> Path:
        """The saved model to use: ``"best"`` (falls back to final) or ``"final"`` (falls
        back to best). Raises RunError when the run saved none."""
        if which not in MODEL_CHOICES:
            raise ValueError(f"which must be {' or '.join(map(repr, MODEL_CHOICES))}. "
                             f"Received: which={which!r}")
        if not self.path.is_dir():
            raise RunError(f"Not a run folder: {self.path} does not exist")
        order = (self.model_best, self.model_final) if which == "best" else (self.model_final, self.model_best)
        for path in order:
            if path.is_file():
                return self.own_file(path)
        try:
            info = read_json(self.run_json)
        except RunError:
            info = {}
        info = info if isinstance(info, dict) else {}
        if info.get("status") in ("stopped", "interrupted") and not info.get("best_epoch"):
            raise RunError(f"The run {self.path} was {info['status']} before its first validated "
                           "epoch, so it saved no model to evaluate or use. Resume it or train "
                           "again.")
        raise RunError(f"The run {self.path} has no saved model ({' or '.join(p.name for p in order)}); "
                       "it may have been stopped before the first epoch ended.")

    def load_model(self, which: str = "final", compile: bool = False):
        """The run's Keras model, loaded in safe mode (see :func:`load_model_file`)."""
        path = self.own_file(self.model_last) if which == "last" else self.model_file(which)
        return load_model_file(path, compile=compile)

    def own_file(self, path: Path) -> Path:
        """``path`` when it is a file of this run folder; RunError when it is a link that
        leads out of it (a shared run folder may not hand over a file from elsewhere)."""
        if not safefiles.inside(self.path, path):
            raise RunError(f"{path} is a link to {os.path.realpath(path)}, outside the run "
                           f"folder {self.path}; refused. A run's model must be a file of its "
                           "own folder.")
        return path

    def _fresh(self, name: str) -> Path:
        """``name`` in the run folder with nothing there: a leftover (or a planted link to
        a file elsewhere) is removed first, so a write never goes through it."""
        path = self.path / name
        with contextlib.suppress(FileNotFoundError):
            os.remove(path)   # removes a link itself, never its target
        return path

    def can_resume(self) -> tuple[bool, str]:
        """Whether ``train --resume`` can continue this run, and if not, why."""
        try:
            run = self.load()
        except RunError as exc:
            return False, str(exc)
        if run["status"] == "complete":
            return False, f"The run {self.path} is complete; there is nothing to resume."
        if run["status"] == "running":
            return False, f"The run {self.path} is still being trained by process {run.get('pid')}."
        if not isinstance(run.get("checkpoint"), dict) or not self.model_last.is_file():
            return False, (f"The run {self.path} has no checkpoint to resume from (it stopped before "
                           "its first epoch ended); start a new run instead.")
        problem = checks.checkpoint_problem(run["checkpoint"])
        if problem:
            return False, f"{self.run_json}: the checkpoint's {problem}; the run folder is damaged."
        return True, ""

    # the dataset
    def open_dataset(self, dataset=None, events=None):
        """The dataset to evaluate or resume on, plus warnings when it differs from training's.

        Args:
            dataset: a ``DatasetIndex`` or ``DatasetSpec`` to use instead of the recorded one.
        Returns:
            ``(DatasetIndex, [warning, …])``.
        """
        from training.data import DatasetSpec, open_dataset
        from training.data.index import DatasetIndex

        recorded = read_json(self.dataset_json)
        if dataset is None:
            spec_dict = recorded.get("spec") if isinstance(recorded, dict) else None
            if not isinstance(spec_dict, dict):
                raise RunError(f"{self.dataset_json} does not record the dataset; "
                               "pass the dataset explicitly")
            dataset = DatasetSpec.from_dict(spec_dict)
        index = dataset if isinstance(dataset, DatasetIndex) else open_dataset(dataset, events)
        warnings = []
        if isinstance(recorded, dict) and recorded.get("fingerprint") not in (None, index.fingerprint()):
            warnings.append("The dataset differs from the one this run was trained on (its files, "
                            "labels or split changed); results may include training images.")
        return index, warnings
