"""One run folder: its layout (every file name lives here and nowhere else), reading and
writing its files, loading its model (Keras safe mode) and reopening its dataset.

``RunFolder(path)`` is the read side every caller uses (train, evaluate, predict, the CLI
and the GUI workers); ``RunWriter`` owns ``run.json`` while a run trains. Listing many
runs is ``training.runs.listing``. No TensorFlow is imported at module level, so reading a run is
cheap.

Every file is replaced atomically (written beside, then renamed), so a process killed at
any moment leaves either the previous or the new version of each file, never half of
one. That is what makes ``resume`` after SIGKILL possible.
"""
from __future__ import annotations

import contextlib
import logging
import os
import re
import shutil
import time
from pathlib import Path

from training import safefiles
from training.runs import checks
from training.safefiles import check_schema
from training.runs.processes import is_alive, process_info

log = logging.getLogger(__name__)

SCHEMA_VERSION = 1
STATUSES = ("running", "complete", "stopped", "failed", "interrupted")

RUN_JSON = "run.json"
SPEC_JSON = "spec.json"
CONFIG_JSON = "config.json"
DATASET_JSON = "dataset.json"
CLASSES_JSON = "classes.json"
HISTORY_JSON = "history.json"
EVALUATION_JSON = "evaluation.json"
EVALUATION_NPZ = "evaluation.npz"   # per-sample probabilities of a large evaluation
MODEL_BEST = "model_best.keras"
MODEL_FINAL = "model_final.keras"
# Which of a run's models to use (``--which``): the one it ended with (evaluated), or its best.
MODEL_CHOICES = ("final", "best")
MODEL_LAST = "model_last.keras"
# Homes for the artifacts other features add (see the RunFolder properties).
EXPORTS_DIR = "exports"
SIGNATURE_JSON = "signature.json"   # the input/output contract beside every exported model
TENSORBOARD_DIR = "tensorboard"
CALIBRATION_JSON = "calibration.json"
LABEL_OVERLAY_JSON = "label_overlay.json"
STOP_REQUEST = "stop_requested"
LIVE_JSON = "live.json"   # a trainer's latest status/progress for followers (training.runs.follow)
# Above this many probability cells an evaluation's per-sample probabilities go to
# evaluation.npz instead of evaluation.json (10,000 x 10 is ~2 MB of JSON text and stays
# in the JSON, so readers of evaluation.json alone see them).
MAX_JSON_CELLS = 250_000
# Files whose change means the run's results changed (the GUI reloads on these).
RESULT_FILES = frozenset({RUN_JSON, EVALUATION_JSON, HISTORY_JSON, CLASSES_JSON})
# Suffixes of files being written (see write_json, RunWriter.save_model): not yet a result.
TRANSIENT_SUFFIXES = (".tmp", ".partial.keras")
_UNSAFE_HINTS = ("safe_mode", "unsafe", "arbitrary code")
# A run folder may come from anywhere (shared storage): each JSON file it holds is read with
# a size cap, so a hostile or damaged folder cannot exhaust memory (issue 25). The largest
# file the app writes is an evaluation: MAX_JSON_CELLS probabilities plus one record per
# image stays under ~40 MB; everything else is a few KB.
DEFAULT_JSON_LIMIT = 8 * safefiles.MiB
JSON_LIMITS = {EVALUATION_JSON: 64 * safefiles.MiB, LIVE_JSON: safefiles.MiB, RUN_JSON: safefiles.MiB}

# The "unknown" rule's files (training.trust.rule writes them after training, with
# CALIBRATION_JSON; the Predictor reads them).
UNKNOWN_JSON = "unknown.json"                    # the rule (training.trust.unknown.UnknownRule)
UNKNOWN_REFERENCE_NPZ = "unknown_reference.npz"  # bounded training-feature subsample

# The embedding map's files (training.embedmap.store, training.embedmap.projection):
# every image's penultimate features (memory-mapped .npy), what belongs to each row, and
# the cached 2-D map. Derived data: deleting them only costs recomputing them.
FEATURES_NPY = "features.npy"            # (n, dim) float32, opened with np.lib.format.open_memmap
FEATURES_ROWS_NPZ = "features_rows.npz"  # index rows, paths, labels, splits, predictions
FEATURES_JSON = "features.json"          # schema, model stamp, dataset fingerprint, count
MAP_NPZ = "map.npz"                      # the 2-D map: PCA preview and the final projection


class RunError(ValueError):
    """A run folder or one of its files is missing, malformed or from a newer version."""


class UnsafeModelError(ValueError):
    """The model file needs unsafe deserialisation (e.g. a Lambda layer) and was refused."""


# -- files ------------------------------------------------------------------------------
def write_json(path: str | os.PathLike, data) -> None:
    """Write a run file's JSON atomically (``training.safefiles.write_json``: temp file with
    a fresh name, fsync, rename), so a crash never leaves half a file and a planted link is
    never written through; NumPy values are written as plain numbers and lists."""
    safefiles.write_json(path, data, default=_plain)


def json_limit(path: str | os.PathLike) -> int:
    """The most bytes a run folder's JSON file may have (see ``JSON_LIMITS``)."""
    return JSON_LIMITS.get(Path(path).name, DEFAULT_JSON_LIMIT)


def read_json(path: str | os.PathLike, max_bytes: int | None = None):
    """Read a JSON file of a run folder as data from elsewhere (``training.safefiles``):
    size-capped (``json_limit``), a regular file that stays inside its folder, strict
    JSON. Raises ``RunError`` naming the file and the reason."""
    path = Path(path)
    try:
        return safefiles.read_json(path, max_bytes or json_limit(path), within=path.parent)
    except safefiles.UntrustedFileError as exc:
        raise RunError(str(exc)) from None


def _checkpoint_problem(checkpoint: dict) -> str | None:
    """What is wrong with run.json's ``checkpoint`` (resume reads it), or None."""
    for key in ("epoch", "wait"):
        if key in checkpoint and not checks.is_count(checkpoint[key]):
            return f"{key} must be a count. Received: {_shown(checkpoint[key])}"
    for key in ("best_loss", "best_epoch"):
        if checkpoint.get(key) is not None and not checks.is_number(checkpoint[key]):
            return f"{key} must be a number. Received: {_shown(checkpoint[key])}"
    if not isinstance(checkpoint.get("phase", "train"), str):
        return f"phase must be a name. Received: {_shown(checkpoint.get('phase'))}"
    return None


def _shown(value) -> str:
    """``repr(value)``, cut short: an error message never carries a megabyte of a file."""
    text = repr(value)
    return text if len(text) <= 80 else text[:77] + "..."


def _plain(value):
    """JSON fallback for numpy scalars/arrays that slip into payloads."""
    if hasattr(value, "tolist"):
        return value.tolist()
    if isinstance(value, Path):
        return str(value)
    raise TypeError(f"Not JSON serialisable: {type(value).__name__}")


def load_model_file(path, compile: bool = False):
    """``keras.saving.load_model(path, safe_mode=True)`` with clear errors: the one loader.

    Raises:
        UnsafeModelError: the file holds code (Lambda layers, pickled functions).
        RunError: the file is missing, not a Keras model, or damaged.
    """
    from training.models import load_model

    path = Path(path)
    if not path.is_file():
        raise RunError(f"Model file not found: {path}")
    try:
        return load_model(path, compile=compile)
    except Exception as exc:  # noqa: BLE001 - Keras raises many types for damaged files
        text = str(exc)
        if any(h in text for h in _UNSAFE_HINTS):
            raise UnsafeModelError(
                f"Refused to load {path}: it contains code that only runs with unsafe "
                f"deserialisation (for example a Lambda layer), which could execute anything "
                f"on this computer. Only open model files from sources you trust; this app "
                f"never disables Keras safe mode. Keras said: {text.splitlines()[0][:300]}") from None
        raise RunError(f"Could not load the model {path}: {type(exc).__name__}: "
                       f"{text.splitlines()[0][:300] if text else ''}") from None


# -- where runs live --------------------------------------------------------------------
def default_runs_root() -> Path:
    """``$WORKBENCH_RUNS_DIR`` or ``~/ImageWorkbench/runs``."""
    env = os.environ.get("WORKBENCH_RUNS_DIR")
    return Path(env) if env else Path.home() / "ImageWorkbench" / "runs"


def new_run_dir(model_name: str, root: str | os.PathLike | None = None) -> Path:
    """Create and return a fresh ``<root>/<timestamp>_<model>`` folder (never reuses one)."""
    root = Path(root) if root else default_runs_root()
    safe = re.sub(r"[^A-Za-z0-9_.-]+", "_", model_name or "model").strip("._") or "model"
    stamp = time.strftime("%Y%m%d-%H%M%S")
    for n in range(1000):
        path = root / (f"{stamp}_{safe}" if n == 0 else f"{stamp}_{safe}_{n}")
        try:
            path.mkdir(parents=True, exist_ok=False)
            return path
        except FileExistsError:
            continue
    raise RunError(f"Could not create a new run folder under {root}")


# -- one run ------------------------------------------------------------------------------
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
        if not isinstance(data, dict):
            raise RunError(f"{where} must hold a JSON object. Received: {type(data).__name__}")
        check_schema(data, "run record", SCHEMA_VERSION, where=where, error=RunError)
        if data.get("status") not in STATUSES:
            raise RunError(f"{where} has an unknown status. Received: "
                           f"status={_shown(data.get('status'))}")
        expected = {"model": str, "started": (int, float), "epochs_done": int}
        for key, types in expected.items():
            if key not in data or isinstance(data[key], bool) or not isinstance(data[key], types):
                raise RunError(f"{where}: field {key!r} is missing or has the wrong type. "
                               f"Received: {key}={_shown(data.get(key))}")
        if len(data["model"]) > 500 or data["epochs_done"] < 0:
            raise RunError(f"{where}: model must be a name and epochs_done a count. Received: "
                           f"model={_shown(data['model'])}, epochs_done={data['epochs_done']}")
        for key in ("test_accuracy", "test_loss", "best_val_accuracy", "finished"):
            value = data.get(key)
            if value is not None and not checks.is_number(value):
                raise RunError(f"{where}: field {key!r} must be a number. Received: "
                               f"{key}={_shown(value)}")
        # Who wrote it: the pid goes to os.kill(pid, 0) (liveness), so it must be a pid.
        pid, host = data.get("pid"), data.get("host")
        if (pid is not None and not (checks.is_count(pid) and pid < 2 ** 31)) or (
                host is not None and not (isinstance(host, str) and len(host) <= 255)):
            raise RunError(f"{where}: pid must be a process id and host a host name. Received: "
                           f"pid={_shown(pid)}, host={_shown(host)}")
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
        write_json(self.evaluation_json, out)

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
        problem = _checkpoint_problem(run["checkpoint"])
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


def run_of(path: str | os.PathLike) -> Path | None:
    """The run folder ``path`` is or belongs to (a model file in it, an exported model
    under its ``exports/``, at most 3 levels down), or None. "More like this" needs it:
    the training images' features are stored with the run, never with an export."""
    p = Path(path).absolute()
    for folder in (p, *p.parents[:3]):
        if (folder / RUN_JSON).is_file():
            return folder
    return None


def run_seconds(info: dict, run_json: Path | None = None) -> float | None:
    """Wall seconds a run has trained, over every segment (a resumed run has several):
    the earlier segments' ``earlier_seconds`` plus this segment's ``timings.total``, or
    while unknown (still running, or killed) the segment's span up to ``finished`` or up
    to ``run_json``'s last write. None when nothing is known."""
    timings = info.get("timings") if isinstance(info.get("timings"), dict) else {}
    earlier = info.get("earlier_seconds")
    earlier = float(earlier) if isinstance(earlier, (int, float)) else 0.0
    segment = timings.get("total")
    if not isinstance(segment, (int, float)):
        start = info.get("segment_started") or info.get("started")
        end = info.get("finished")
        if not isinstance(end, (int, float)) and run_json is not None:
            try:
                end = os.stat(run_json).st_mtime
            except OSError:
                end = None
        segment = (end - start) if isinstance(end, (int, float)) and isinstance(start, (int, float)) else None
        if segment is None:
            return earlier or None
    return earlier + max(0.0, float(segment))


class RunWriter(RunFolder):
    """Owns ``run.json`` and the other files of one run folder while it trains.

    Args:
        run_dir: the folder (created if missing).
        info: the initial ``run.json`` content (written by :meth:`start`).
    """

    def __init__(self, run_dir: str | os.PathLike, info: dict):
        super().__init__(run_dir)
        self.path.mkdir(parents=True, exist_ok=True)
        self.info = info

    @classmethod
    def create(cls, run_dir, model_name: str) -> "RunWriter":
        """A writer for ``run_dir`` or a new timestamped folder under the runs root.

        Raises:
            RunError: ``run_dir`` already holds a run (a run is never overwritten).
        """
        if run_dir:
            path = Path(run_dir)
            if (path / RUN_JSON).exists():
                raise RunError(f"{path} already holds a run; choose a new folder or resume it. "
                               f"Received: run_dir={str(path)!r}")
        else:
            path = new_run_dir(model_name)
        return cls(path, {})

    @classmethod
    def open(cls, run_dir) -> "RunWriter":
        """A writer continuing an existing run (``resume``): raw run.json, validated."""
        RunFolder(run_dir).load()  # raises RunError on a damaged or future-version file
        return cls(run_dir, read_json(Path(run_dir) / RUN_JSON))

    def start(self, *, model: str, spec: dict, config: dict, dataset: dict, classes: list[str],
              device: str, seed: int) -> None:
        self.info = {
            "schema_version": SCHEMA_VERSION, "status": "running", "model": model,
            **process_info(), "started": time.time(), "finished": None, "device": device,
            "seed": seed, "timings": {}, "epochs_done": 0, "best_epoch": None,
            "best_val_loss": None, "best_val_accuracy": None, "test_accuracy": None,
            "test_loss": None, "checkpoint": None, "error": None, "warnings": [],
        }
        write_json(self.spec_json, spec)
        write_json(self.config_json, config)
        write_json(self.dataset_json, dataset)
        write_json(self.classes_json, list(classes))
        write_json(self.history_json, [])
        self.flush()

    def reopen(self, device: str) -> None:
        """Mark a resumed run as running again in this process. The time its earlier
        segments took is kept in ``earlier_seconds`` (``timings`` are this segment's), so
        a run's time counts every segment (:func:`run_seconds`)."""
        earlier = run_seconds(self.info, self.run_json)
        self.info.update(status="running", finished=None, device=device, error=None,
                         earlier_seconds=earlier, segment_started=time.time(), **process_info())
        self.flush()

    def update(self, **fields) -> None:
        self.info.update(fields)
        self.flush()

    def flush(self) -> None:
        write_json(self.run_json, self.info)

    def write_history(self, history: list[dict]) -> None:
        write_json(self.history_json, history)

    def save_model(self, model, name: str) -> None:
        """``model.save`` to a temporary ``.keras`` file, then rename over ``name``."""
        final = self.path / name
        tmp = self._fresh(name[: -len(".keras")] + ".partial.keras")
        model.save(str(tmp))
        os.replace(tmp, final)

    def copy_model(self, source: str, target: str) -> None:
        """Copy one model file of the run to another name (atomically): same weights,
        no second serialisation (which takes seconds for a large backbone)."""
        tmp = self._fresh(target[: -len(".keras")] + ".partial.keras")
        shutil.copyfile(self.path / source, tmp)
        os.replace(tmp, self.path / target)

    def has(self, name: str) -> bool:
        return (self.path / name).is_file()
