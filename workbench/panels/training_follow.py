"""Following a run that another process trains (a terminal, a cluster job on shared
storage) in the Training panel, as if it were local: curves, epoch log, progress, status,
and Stop.

The trainer writes its run folder as it goes (``history.json`` per epoch, ``run.json``,
and ``live.json`` at most once a second, see :mod:`training.runs.follow`); a
:class:`~workbench.workers.run_watcher.RunWatcher` says which of them changed, and the
panel's own slots (``_on_epoch``, ``_on_batch``, ``_on_status``, ``_finished``) show them,
so a followed run looks exactly like a local one. Stop writes the run folder's stop
request, which the trainer polls. Each read is one small JSON file (a few KB), well
under a millisecond, so it is done on the GUI thread.
"""
from __future__ import annotations

import logging
import os
import time

from PySide6.QtCore import QObject, Signal, Slot

from training.runs.runfolder import HISTORY_JSON, LIVE_JSON, RUN_JSON
from workbench.workers.run_watcher import RunWatcher

log = logging.getLogger(__name__)


class RunFollower(QObject):
    """Follow one run folder for a :class:`~workbench.panels.training.TrainingPanel`.

    Signals:
        ended(str, str): the followed run folder and its final status.
    """

    ended = Signal(str, str)

    def __init__(self, panel):
        super().__init__(panel)
        self.panel = panel
        self.run_dir: str | None = None
        self.stop_sent = False
        self.model: str | None = None   # the followed run's model name (run.json)
        self._epochs = 0
        self._live_at = None
        self._live_problem: str | None = None
        self._run_problem: str | None = None
        self.watcher = RunWatcher(parent=self)
        self.watcher.runChanged.connect(self._on_changed)

    @property
    def active(self) -> bool:
        return self.run_dir is not None

    def follow(self, run_dir: str) -> None:
        """Show ``run_dir`` live until its trainer finishes (it may not exist yet)."""
        self.unfollow()
        p = self.panel
        p._begin(history=[])
        p.run_dir = self.run_dir = run_dir
        self.stop_sent, self._epochs, self._live_at, self.model = False, 0, None, None
        self._live_problem = self._run_problem = None
        p._resume_config = None
        self.watcher.watch(run_dir)
        name = os.path.basename(run_dir.rstrip("/\\"))
        p.log.appendPlainText(f"Following {name}, trained by another process "
                              f"(its folder: {run_dir}).")
        p.progress.setFormat(f"Following {name}: waiting for its first files…")
        self._refresh({RUN_JSON, HISTORY_JSON, LIVE_JSON})
        p._update_controls()

    def unfollow(self) -> None:
        if self.run_dir is not None:
            self.watcher.unwatch(self.run_dir)
        self.run_dir = None

    def stop(self) -> None:
        """The panel is shutting down."""
        self.unfollow()
        self.watcher.stop()

    def request_stop(self) -> bool:
        """Ask the followed run's trainer to stop (it polls for the request file)."""
        if not self.active or self.stop_sent:
            return False
        from training.runs.follow import request_stop

        try:
            request_stop(self.run_dir, who="workbench GUI")
        except OSError as exc:
            self.panel._show_error(f"Could not ask the run to stop: {exc}")
            return False
        self.stop_sent = True
        p = self.panel
        p._stop_at = time.monotonic()
        p.stop_button.setEnabled(False)
        p.stop_button.setText("Stopping…")
        p.progress.setFormat("Stop requested; the other process stops after its current batch…")
        return True

    # ----------------------------------------------------------------- file changes
    @Slot(str, list)
    def _on_changed(self, run_dir: str, names: list) -> None:
        if self.run_dir is not None and _same(run_dir, self.run_dir):
            self._refresh(set(names))

    def _refresh(self, names: set) -> None:
        if self.run_dir is None:
            return
        if HISTORY_JSON in names:
            self._new_epochs()
        if LIVE_JSON in names:
            self._live()
        if RUN_JSON in names:
            self._status()

    def _new_epochs(self) -> None:
        from workbench.workers.evaluation import read_history

        history = read_history(self.run_dir)
        new = history[self._epochs:]
        for info in new:
            self.panel._on_epoch(dict(info))
        self._epochs = max(self._epochs, len(history))
        if new:   # until the next batch arrives, the bar shows the epochs done
            last, p = new[-1], self.panel
            total = max(1, int(last.get("epochs") or 1))
            p.progress.setValue(int(1000 * min(1.0, self._epochs / total)))
            p.progress.setFormat(f"Epoch {self._epochs}/{total} done")
        if self.panel._resume_config is None:   # the header shows the run's own settings
            from workbench.panels.training_bad_files import read_run_config

            self.panel._resume_config = read_run_config(self.run_dir)
            self.panel._update_controls()

    def _live(self) -> None:
        from training.runs.follow import read_live_checked

        live, problem = read_live_checked(self.run_dir)
        if problem and problem != self._live_problem:   # said once, not every 2 s
            self._live_problem = problem
            self.panel.log.appendPlainText(f"Progress file ignored: {problem}")
        if not live or live.get("updated") == self._live_at:
            return
        self._live_at = live.get("updated")
        p = self.panel
        batch, progress = live.get("batch"), live.get("progress")
        if isinstance(progress, dict) and progress.get("total"):
            p._on_progress(int(progress["done"]), int(progress["total"]), str(progress["what"]))
        if isinstance(batch, dict) and int(batch.get("epoch", 0)) >= self._epochs:
            # The epoch in progress, or the last batch of the epoch just finished (the
            # trainer rewrites live.json at every epoch end; fast epochs see only that).
            p._on_batch(batch)
        elif live.get("status") and not isinstance(batch, dict):
            p._on_status(str(live["status"]))
        if live.get("host"):
            p.device_label.setText(f"Followed run · {live.get('host')} (pid {live.get('pid')})")

    def _status(self) -> None:
        from training.runs.runfolder import RunFolder
        from training.runs.runfolder import RunError

        try:
            run = RunFolder(self.run_dir).load()
        except RunError as exc:
            # Not written yet: the next event. A file that is there but refused (damaged,
            # too large, hostile) is said once, and the window goes on following.
            if os.path.lexists(RunFolder(self.run_dir).run_json) and str(exc) != self._run_problem:
                self._run_problem = str(exc)
                self.panel.log.appendPlainText(f"Cannot read the run's status: {exc}")
            return
        status = run.get("status")
        if run.get("model") != self.model:
            self.model = run.get("model")
            self.panel._update_controls()   # the header names the followed run's model
        if status == "running":
            return
        self._new_epochs()   # the last epoch may land together with the final status
        run_dir, p = self.run_dir, self.panel
        self.unfollow()
        p._resume_config = None
        if status == "interrupted":
            p._show_error("The process training this run ended before finishing it "
                          "(killed or crashed). Resume continues it from its last epoch.")
        elif status == "failed":
            p._show_error(run.get("error") or "Training failed in the other process.")
        else:
            p._finished({**run, "run_dir": run_dir})
        p._done()
        self.ended.emit(run_dir, str(status))


def _same(a: str, b: str) -> bool:
    return os.path.normcase(os.path.abspath(a)) == os.path.normcase(os.path.abspath(b))


def running_elsewhere(run_dir: str) -> bool:
    """True when ``run_dir`` is being trained by another live process (or host)."""
    from training.runs.runfolder import RunFolder
    from training.runs.runfolder import RunError

    try:
        run = RunFolder(run_dir).load()
    except RunError:
        return False
    return run.get("status") == "running" and run.get("pid") != os.getpid()
