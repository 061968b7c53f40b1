"""Run folders: where a training run keeps everything it produced, and how runs are listed.

One run folder's layout and files are :class:`training.runs.runfolder.RunFolder`; this module
lists the runs under a root and compares them. It imports no TensorFlow, so listing runs
is cheap.
"""
from __future__ import annotations

import os
from dataclasses import asdict, dataclass, field
from pathlib import Path

from training.runs.runfolder import RunError, RunFolder, default_runs_root
from training.runs.writer import run_seconds


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
        folder = RunFolder(child)
        if not child.is_dir() or not folder.is_run():
            continue
        try:
            run = folder.load()
        except RunError as exc:
            out.append({"name": child.name, "path": str(child), "model": "?", "status": "invalid",
                        "epochs": 0, "best_val_accuracy": None, "test_accuracy": None,
                        "duration": None, "started": 0.0, "error": str(exc)})
            continue
        # Every segment of a resumed run counts; a running one has no time yet.
        duration = run_seconds(run, folder.run_json) if run["status"] != "running" else None
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
