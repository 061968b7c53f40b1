"""Jobs behind the Results panel that read files: list runs, load a run's evaluation
(evaluating a run is a compute-service request: ``workbench.compute.requests.EvaluationJob``).

``evaluation.json`` holds one record per test sample and can be tens of MB for a big
test split, so even reading it happens here, off the GUI thread.
"""
from __future__ import annotations

import os

from workbench.workers.pool import PoolWorker


class RunsLoader(PoolWorker):
    """List the run folders under ``root`` (``training.runs.listing.list_runs``), each with
    ``curve``: its validation accuracy per epoch, for the comparison chart."""

    def __init__(self, root: str | None = None):
        super().__init__()
        self.root = root

    def work(self) -> list:
        from training.runs.runfolder import default_runs_root
        from training.runs.manage import list_runs_labelled as list_runs

        root = str(self.root or default_runs_root())
        runs = list(list_runs(root)) if os.path.isdir(root) else []
        for run in runs:  # the comparison chart's curves
            self.events.check_stop()
            run["curve"] = [h.get("val_accuracy", h.get("accuracy"))
                            for h in read_history(run["path"])]
        return runs


class EvaluationLoader(PoolWorker):
    """Read a run folder (info, history) and its ``evaluation.json`` if there is one.

    Returns:
        ``{"run_dir", "run": RunFolder.load() dict, "history": [epoch dicts],
        "evaluation": dict | None, "error": str | None}``
    """

    def __init__(self, run_dir: str):
        super().__init__()
        self.run_dir = run_dir

    def work(self) -> dict:
        from training.runs.runfolder import RunFolder

        folder = RunFolder(self.run_dir)
        out = {"run_dir": self.run_dir, "run": {}, "history": [], "evaluation": None,
               "error": None}
        try:
            out["run"] = dict(folder.load())
        except Exception as exc:  # noqa: BLE001 - a broken run folder is shown, not raised
            out["error"] = f"Could not read the run folder {self.run_dir}: {exc}"
            return out
        self.events.check_stop()
        out["history"] = folder.history()
        if folder.has_evaluation():
            try:
                out["evaluation"] = folder.read_evaluation()   # NumPy only, no TensorFlow
            except Exception as exc:  # noqa: BLE001 - shown in the panel, Evaluate offered
                where = str(folder.evaluation_json)
                out["error"] = str(exc) if where in str(exc) else f"Could not read {where}: {exc}"
        return out


def read_history(run_dir: str) -> list:
    """``history.json`` as a list of epoch dicts ([] when missing or malformed)."""
    from training.runs.runfolder import RunFolder

    return RunFolder(run_dir).history()
