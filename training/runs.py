"""Run folders: where a training run keeps everything it produced, and how runs are listed.

A run folder holds ``run.json`` (status, timings, results), ``spec.json``, ``config.json``,
``dataset.json``, ``classes.json``, ``history.json``, the models (``model_best.keras``,
``model_final.keras``, ``model_last.keras`` for resuming) and ``evaluation.json``.
This module imports no TensorFlow, so listing runs is cheap.
"""
from __future__ import annotations

import json
import os
import re
import socket
import sys
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

SCHEMA_VERSION = 1
STATUSES = ("running", "complete", "stopped", "failed", "interrupted")

RUN_JSON = "run.json"
SPEC_JSON = "spec.json"
CONFIG_JSON = "config.json"
DATASET_JSON = "dataset.json"
CLASSES_JSON = "classes.json"
HISTORY_JSON = "history.json"
EVALUATION_JSON = "evaluation.json"
MODEL_BEST = "model_best.keras"
MODEL_FINAL = "model_final.keras"
MODEL_LAST = "model_last.keras"


class RunError(ValueError):
    """A run folder or one of its files is missing, malformed or from a newer version."""


@dataclass
class RunSummary:
    """What ``train()`` returns: the run's outcome as plain data (see ``to_dict``)."""

    run_dir: str
    status: str
    model: str
    classes: list[str]
    epochs_done: int = 0
    best_epoch: int | None = None
    best_val_loss: float | None = None
    best_val_accuracy: float | None = None
    test_loss: float | None = None
    test_accuracy: float | None = None
    confusion_matrix: list[list[int]] | None = None
    history: list[dict] = field(default_factory=list)
    timings: dict = field(default_factory=dict)
    device: str = "CPU"
    error: str | None = None

    def to_dict(self) -> dict:
        return asdict(self)


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


def write_json(path: str | os.PathLike, data) -> None:
    """Write JSON atomically (temp file + rename), so a crash never leaves half a file."""
    path = Path(path)
    tmp = path.with_name(path.name + ".tmp")
    with open(tmp, "w", encoding="utf-8") as f:
        json.dump(data, f, indent=1, ensure_ascii=False, allow_nan=False, default=_plain)
    os.replace(tmp, path)


def read_json(path: str | os.PathLike):
    """Read a JSON file; raise ``RunError`` naming the file when it is missing or malformed."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise RunError(f"{path} is missing") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise RunError(f"Could not read {path}: {exc}") from None
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise RunError(f"{path} is not valid JSON (truncated or corrupted?): {exc}") from None


def _plain(value):
    """JSON fallback for numpy scalars/arrays that slip into payloads."""
    if hasattr(value, "tolist"):
        return value.tolist()
    if isinstance(value, Path):
        return str(value)
    raise TypeError(f"Not JSON serialisable: {type(value).__name__}")


def process_info() -> dict:
    """Who is writing a run: pid, host and (on Linux) process start time against pid reuse."""
    return {"pid": os.getpid(), "host": socket.gethostname(), "pid_start": _pid_start(os.getpid())}


def _pid_start(pid: int) -> str | None:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
        return stat.rsplit(")", 1)[1].split()[19]  # field 22: starttime in clock ticks
    except (OSError, IndexError):
        return None


def _pid_alive(pid: int) -> bool:
    if pid <= 0:
        return False
    if sys.platform == "win32":
        # os.kill(pid, 0) on Windows would *terminate* the process (signal 0 is
        # CTRL_C_EVENT there), so ask the kernel for the exit code instead.
        import ctypes

        kernel32 = ctypes.windll.kernel32
        handle = kernel32.OpenProcess(0x1000, False, pid)  # PROCESS_QUERY_LIMITED_INFORMATION
        if not handle:
            return False
        code = ctypes.c_ulong()
        ok = kernel32.GetExitCodeProcess(handle, ctypes.byref(code))
        kernel32.CloseHandle(handle)
        return bool(ok) and code.value == 259  # STILL_ACTIVE
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def is_alive(run: dict) -> bool:
    """True when the process that wrote a ``running`` run.json still runs.

    A run on another host is assumed alive (we cannot tell); a reused pid is detected on
    Linux by comparing the process start time.
    """
    pid = run.get("pid")
    if not isinstance(pid, int):
        return False
    host = run.get("host")
    if host and host != socket.gethostname():
        return True
    if not _pid_alive(pid):
        return False
    recorded = run.get("pid_start")
    return recorded is None or _pid_start(pid) in (None, recorded)


def load_run(run_dir: str | os.PathLike) -> dict:
    """Read and validate ``run.json``; a dead ``running`` run is reported as ``interrupted``.

    Returns:
        The run.json dict plus ``path``, ``name`` and ``classes`` (from classes.json).

    Raises:
        RunError: no such folder, missing/malformed/truncated run.json, a newer
            ``schema_version`` or a field of the wrong type.
    """
    run_dir = Path(run_dir)
    if not run_dir.is_dir():
        raise RunError(f"Not a run folder: {run_dir} does not exist or is not a folder")
    data = read_json(run_dir / RUN_JSON)
    where = run_dir / RUN_JSON
    if not isinstance(data, dict):
        raise RunError(f"{where} must hold a JSON object. Received: {type(data).__name__}")
    version = data.get("schema_version")
    if isinstance(version, bool) or not isinstance(version, int) or version < 1:
        raise RunError(f"{where} has no valid schema_version. Received: schema_version={version!r}")
    if version > SCHEMA_VERSION:
        raise RunError(f"{where} was written by a newer version of the workbench "
                       f"(schema_version {version}; this version reads up to {SCHEMA_VERSION}).")
    if data.get("status") not in STATUSES:
        raise RunError(f"{where} has an unknown status. Received: status={data.get('status')!r}")
    expected = {"model": str, "started": (int, float), "epochs_done": int}
    for key, types in expected.items():
        if key not in data or isinstance(data[key], bool) or not isinstance(data[key], types):
            raise RunError(f"{where}: field {key!r} is missing or has the wrong type. "
                           f"Received: {key}={data.get(key)!r}")
    for key in ("test_accuracy", "test_loss", "best_val_accuracy", "finished"):
        value = data.get(key)
        if value is not None and (isinstance(value, bool) or not isinstance(value, (int, float))):
            raise RunError(f"{where}: field {key!r} must be a number. Received: {key}={value!r}")
    if data["status"] == "running" and not is_alive(data):
        data["status"] = "interrupted"
    data["path"] = str(run_dir)
    data["name"] = run_dir.name
    try:
        classes = read_json(run_dir / CLASSES_JSON)
        data["classes"] = [str(c) for c in classes] if isinstance(classes, list) else []
    except RunError:
        data.setdefault("classes", [])
    return data


def list_runs(root: str | os.PathLike | None = None) -> list[dict]:
    """Every run folder directly under ``root``, oldest first.

    A folder whose run.json cannot be read is still listed, with ``status: "invalid"`` and
    the reason in ``error``, so one damaged run never hides the others.

    Returns:
        Dicts with ``name, path, model, status, epochs, best_val_accuracy,
        test_accuracy, duration, started`` (plus ``error`` for invalid runs).
    """
    root = Path(root) if root else default_runs_root()
    if not root.is_dir():
        return []
    out = []
    for child in root.iterdir():
        if not child.is_dir() or not (child / RUN_JSON).exists():
            continue
        try:
            run = load_run(child)
        except RunError as exc:
            out.append({"name": child.name, "path": str(child), "model": "?", "status": "invalid",
                        "epochs": 0, "best_val_accuracy": None, "test_accuracy": None,
                        "duration": None, "started": 0.0, "error": str(exc)})
            continue
        finished = run.get("finished")
        duration = run.get("timings", {}).get("total") if isinstance(run.get("timings"), dict) else None
        if duration is None and finished:
            duration = finished - run["started"]
        out.append({"name": run["name"], "path": run["path"], "model": run["model"],
                    "status": run["status"], "epochs": run["epochs_done"],
                    "best_val_accuracy": run.get("best_val_accuracy"),
                    "test_accuracy": run.get("test_accuracy"), "duration": duration,
                    "started": run["started"]})
    out.sort(key=lambda r: (r["started"], r["name"]))
    return out


def compare_table(runs: list[dict]) -> list[str]:
    """Lines of a plain-text comparison table (seed 004's ``test_metrics``), best first."""
    def fmt(v, pattern="{:.4f}"):
        return "-" if v is None else pattern.format(v)

    rows = sorted(runs, key=lambda r: -(r.get("test_accuracy") or -1.0))
    header = ("run", "model", "dataset", "status", "epochs", "val acc", "test acc", "time")
    body = [(r.get("display_name") or r["name"], r["model"], r.get("dataset_label") or "-",
             r["status"], str(r["epochs"]), fmt(r.get("best_val_accuracy")),
             fmt(r.get("test_accuracy")), fmt(r.get("duration"), "{:.1f}s")) for r in rows]
    widths = [max(len(h), *(len(b[i]) for b in body)) if body else len(h)
              for i, h in enumerate(header)]
    line = lambda cells: "  ".join(c.ljust(w) for c, w in zip(cells, widths)).rstrip()  # noqa: E731
    return [line(header)] + [line(b) for b in body]
