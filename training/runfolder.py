"""Writing one run folder while a run trains (reading and listing lives in ``training.runs``).

Every file is replaced atomically (written beside, then renamed), so a process killed at
any moment leaves either the previous or the new version of each file, never half of
one. That is what makes ``resume`` after SIGKILL possible.
"""
from __future__ import annotations

import os
import shutil
import time
from pathlib import Path

from training import runs


class RunWriter:
    """Owns ``run.json`` and the other files of one run folder.

    Args:
        run_dir: the folder (created if missing).
        info: the initial ``run.json`` content (written by :meth:`start`).
    """

    def __init__(self, run_dir: str | os.PathLike, info: dict):
        self.path = Path(run_dir)
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
            if (path / runs.RUN_JSON).exists():
                raise runs.RunError(f"{path} already holds a run; choose a new folder or resume it. "
                                    f"Received: run_dir={str(path)!r}")
        else:
            path = runs.new_run_dir(model_name)
        return cls(path, {})

    @classmethod
    def open(cls, run_dir) -> "RunWriter":
        """A writer continuing an existing run (``resume``): raw run.json, validated."""
        runs.load_run(run_dir)  # raises RunError on a damaged or future-version file
        return cls(run_dir, runs.read_json(Path(run_dir) / runs.RUN_JSON))

    def start(self, *, model: str, spec: dict, config: dict, dataset: dict, classes: list[str],
              device: str, seed: int) -> None:
        self.info = {
            "schema_version": runs.SCHEMA_VERSION, "status": "running", "model": model,
            **runs.process_info(), "started": time.time(), "finished": None, "device": device,
            "seed": seed, "timings": {}, "epochs_done": 0, "best_epoch": None,
            "best_val_loss": None, "best_val_accuracy": None, "test_accuracy": None,
            "test_loss": None, "checkpoint": None, "error": None, "warnings": [],
        }
        runs.write_json(self.path / runs.SPEC_JSON, spec)
        runs.write_json(self.path / runs.CONFIG_JSON, config)
        runs.write_json(self.path / runs.DATASET_JSON, dataset)
        runs.write_json(self.path / runs.CLASSES_JSON, list(classes))
        runs.write_json(self.path / runs.HISTORY_JSON, [])
        self.flush()

    def reopen(self, device: str) -> None:
        """Mark a resumed run as running again in this process."""
        self.info.update(status="running", finished=None, device=device, error=None,
                         **runs.process_info())
        self.flush()

    def update(self, **fields) -> None:
        self.info.update(fields)
        self.flush()

    def flush(self) -> None:
        runs.write_json(self.path / runs.RUN_JSON, self.info)

    def write_history(self, history: list[dict]) -> None:
        runs.write_json(self.path / runs.HISTORY_JSON, history)

    def read(self, name: str):
        return runs.read_json(self.path / name)

    def save_model(self, model, name: str) -> None:
        """``model.save`` to a temporary ``.keras`` file, then rename over ``name``."""
        final = self.path / name
        tmp = self.path / (name[: -len(".keras")] + ".partial.keras")
        model.save(str(tmp))
        os.replace(tmp, final)

    def copy_model(self, source: str, target: str) -> None:
        """Copy one model file of the run to another name (atomically): same weights,
        no second serialisation (which takes seconds for a large backbone)."""
        tmp = self.path / (target[: -len(".keras")] + ".partial.keras")
        shutil.copyfile(self.path / source, tmp)
        os.replace(tmp, self.path / target)

    def has(self, name: str) -> bool:
        return (self.path / name).is_file()


# -- exports and TensorBoard logs (written by training.export / training.tensorboard_logs) --
EXPORTS_DIR = "exports"          # default export destination inside a run folder
SIGNATURE_JSON = "signature.json"  # the input/output contract next to every export
TENSORBOARD_DIR = "tensorboard"  # Keras TensorBoard event files of the run


def exports_dir(run_dir) -> Path:
    """Where ``export`` writes a run's exported files by default."""
    return Path(run_dir) / EXPORTS_DIR


def tensorboard_dir(run_dir) -> Path:
    """The run's TensorBoard log folder (``tensorboard --logdir RUNS_ROOT`` finds it)."""
    return Path(run_dir) / TENSORBOARD_DIR
