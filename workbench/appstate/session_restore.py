"""What survives a restart: the last dataset (reopened in the background, cancellable,
with its split settings), the training settings next to the model spec, the current run
(or a newer unfinished one, so the Training panel offers Resume for it), and the runs a
restart left unfinished (stopped or interrupted) under File → Recent runs, with Resume.

Settings keys: ``dataset/last_spec`` (``DatasetSpec.to_dict()`` JSON),
``training/last_config`` (``TrainConfig.to_dict()`` JSON), ``training/auto_epochs``
(``{"epochs": Auto's last number or null}``) and ``session/run_dir``. They
are read back through the core's ``from_dict`` or checked on disk, so a damaged, newer or
vanished value is ignored, never fatal.
"""
from __future__ import annotations

import json
import logging
import os

from workbench.workers.evaluation import RunsLoader
from workbench.workers.job_runner import JobRunner

log = logging.getLogger(__name__)
RESUMABLE_STATUSES = ("stopped", "interrupted")
RUN_KEY = "session/run_dir"
AUTO_EPOCHS_KEY = "training/auto_epochs"   # {"epochs": AppState.auto_epochs} as JSON


def save_session(settings, state) -> None:
    """Remember the dataset spec and the training settings (called on exit)."""
    if state.dataset_spec is not None and hasattr(state.dataset_spec, "to_dict"):
        settings.set_value("dataset/last_spec", json.dumps(state.dataset_spec.to_dict()))
    if state.train_config is not None and hasattr(state.train_config, "to_dict"):
        settings.set_value("training/last_config", json.dumps(state.train_config.to_dict()))
        settings.set_value(AUTO_EPOCHS_KEY, json.dumps({"epochs": state.auto_epochs}))
    settings.set_value(RUN_KEY, state.run_dir or "")


def last_auto_epochs(settings) -> int | None:
    """The epochs Auto had put into the saved training settings, or None."""
    value = (settings.json_value(AUTO_EPOCHS_KEY) or {}).get("epochs")
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def last_train_config(settings):
    """The training settings saved on exit, or None (missing or unreadable)."""
    data = settings.json_value("training/last_config")
    if data is None:
        return None
    from training.recipe.config import TrainConfig

    try:
        return TrainConfig.from_dict(data)
    except (TypeError, ValueError) as exc:
        log.info("Ignoring the saved training settings: %s", exc)
        return None


def last_dataset_spec(settings):
    """The last dataset's spec when its path still exists, else None."""
    data = settings.json_value("dataset/last_spec")
    if data is None:
        recent = settings.recent_datasets()
        data = {"path": recent[0]} if recent else None
    if data is None:
        return None
    from training.data import DatasetSpec

    try:
        spec = DatasetSpec.from_dict(data)
    except (TypeError, ValueError) as exc:
        log.info("Ignoring the saved dataset: %s", exc)
        return None
    return spec if os.path.exists(spec.path) else None


def reopen_last_dataset(window) -> bool:
    """Start indexing the last dataset (the Dataset panel shows progress and Cancel)."""
    spec = last_dataset_spec(window.settings)
    if spec is None:
        return False
    panel = window.panels["data"]
    window.state.statusMessage.emit(f"Reopening {spec.path}… (Cancel on the Dataset panel)")
    panel.open_spec(spec)
    return True


def reopen_last_run(window) -> None:
    """Make the last session's run current again once the runs are listed, or a newer
    unfinished one (a training the app was closed or killed during): the panels follow it,
    and the Training panel offers Resume instead of "Idle". A run chosen meanwhile wins."""
    window.resumable.restore_pending = True
    if not window.resumable.busy():
        window.resumable.refresh()


def run_to_restore(runs: list[dict], last: str | None) -> str | None:
    """The run a restart makes current: ``last`` (if it still exists), unless a stopped or
    interrupted run started after it; without ``last``, the newest unfinished run."""
    last = last if last and os.path.isdir(last) else None

    def started(run: dict) -> float:
        value = run.get("started")
        return float(value) if isinstance(value, (int, float)) else 0.0

    key = os.path.normcase(os.path.abspath(last)) if last else None
    since = max((started(r) for r in runs
                 if key and os.path.normcase(os.path.abspath(r.get("path") or "")) == key), default=0.0)
    unfinished = [r for r in runs if r.get("status") in RESUMABLE_STATUSES and r.get("path")
                  and started(r) > since]
    if unfinished:
        return max(unfinished, key=started)["path"]
    return last


class ResumableRuns:
    """Keeps the list of stopped and interrupted runs, listed in a worker (reading every
    run.json is file I/O) at start and whenever a run is written."""

    def __init__(self, window) -> None:
        self.window = window
        self.runs: list[dict] = []
        self.restore_pending = False   # see reopen_last_run
        self._listing = JobRunner(window)   # a refresh cancels the listing before it
        window.state.runsUpdated.connect(self.refresh)

    def refresh(self) -> None:
        self._listing.start(RunsLoader(), finished=self._listed)

    def busy(self) -> bool:
        return self._listing.busy()

    def stop(self) -> None:
        self._listing.shutdown(10000)

    def _listed(self, runs: list) -> None:
        self.runs = [r for r in runs if r.get("status") in RESUMABLE_STATUSES]
        if self.restore_pending:
            self.restore_pending = False
            state = self.window.state
            if state.run_dir is None:
                run = run_to_restore(runs, str(self.window.settings.value(RUN_KEY, "") or ""))
                if run:
                    state.set_run(os.path.abspath(run))


def fill_recent_runs(menu, recent: list[str], resumable: list[dict], open_run, resume_run) -> None:
    """Recent runs first, then the unfinished ones, each with Open and (interrupted or
    stopped) Resume."""
    menu.clear()
    for p in recent:
        menu.addAction(p).triggered.connect(lambda _=False, path=p: open_run(path))
    if resumable:
        if recent:
            menu.addSeparator()
        menu.addSection("Unfinished runs")
        for run in reversed(resumable):   # newest first
            name, path, status = run.get("name") or "", run["path"], run.get("status")
            sub = menu.addMenu(f"{name} ({status}, {run.get('epochs', 0)} epochs)")
            sub.addAction("Resume training").triggered.connect(
                lambda _=False, p=path: resume_run(p))
            sub.addAction("Open in Results").triggered.connect(
                lambda _=False, p=path: open_run(p))
    if not recent and not resumable:
        menu.addAction("(none yet)").setEnabled(False)
