"""Writing a run folder while it trains: ``RunWriter`` owns ``run.json`` and the other
files of one run, and :func:`run_seconds` counts the time over a resumed run's segments.

Every file is replaced atomically (written beside, then renamed), so a process killed at
any moment leaves either the previous or the new version of each file, never half of
one. That is what makes ``resume`` after SIGKILL possible.
"""
from __future__ import annotations

import os
import shutil
import time
from pathlib import Path

from training.runs.files import RUN_JSON, SCHEMA_VERSION, RunError, new_run_dir, read_json, write_json
from training.runs.processes import process_info
from training.runs.runfolder import RunFolder


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
