"""A run folder's file names and how each file is read and written.

Every file name of a run folder lives here and nowhere else (``RUN_JSON``,
``MODEL_FINAL``, ...); new artifacts get a name here and a property on
``training.runs.runfolder.RunFolder``. JSON files are read as data from elsewhere (size
capped, strict) and written atomically; models load with Keras' safe mode on. The names
are also importable from ``training.runs.runfolder``, the run folder's public face.
"""
from __future__ import annotations

import os
import re
import time
from pathlib import Path

from training import safefiles

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
def write_json(path: str | os.PathLike, data, *, indent: int | None = 1) -> None:
    """Write a run file's JSON atomically (``training.safefiles.write_json``: temp file with
    a fresh name, fsync, rename), so a crash never leaves half a file and a planted link is
    never written through; NumPy values are written as plain numbers and lists.
    ``indent=None`` writes one compact line (for big files only programs read)."""
    safefiles.write_json(path, data, indent=indent, default=_plain)


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


def shown(value) -> str:
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


def run_of(path: str | os.PathLike) -> Path | None:
    """The run folder ``path`` is or belongs to (a model file in it, an exported model
    under its ``exports/``, at most 3 levels down), or None. "More like this" needs it:
    the training images' features are stored with the run, never with an export."""
    p = Path(path).absolute()
    for folder in (p, *p.parents[:3]):
        if (folder / RUN_JSON).is_file():
            return folder
    return None
