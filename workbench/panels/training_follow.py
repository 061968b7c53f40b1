"""How the Training panel shows a run while it trains: one path for every run, whether
the app's own training process trains it or another process does (a terminal, a
cluster job on shared storage).

:class:`RunFollower` watches the run folder the trainer writes as it goes
(``history.json`` per epoch, ``run.json``, and ``live.json`` at most once a second, see
:mod:`training.runs.follow`) through a :class:`~workbench.workers.run_watcher.RunWatcher`
(file-change events plus a re-scan every 2 s), and emits what changed as signals of
plain data (``epoch``, ``batch``, ``status``, ``progress``, ``ended``…), which the
panel connects to its slots: the follower never touches the panel. For a run the app
trains itself (``follow(run_dir, local=True)``) the same signals are also fed, sooner,
from the training process's event stream (the panel connects its
:class:`~workbench.workers.training.TrainingWorker`'s signals to :meth:`RunFollower.on_epoch`
and :meth:`on_batch`): every batch instead of one a second, each epoch without the file
watcher's 300 ms. Epochs are emitted once, whichever way they arrive first; the end of
a local run is its process's end, which the panel reports.

Stop writes the run folder's stop request, which the trainer polls. A followed run on
this machine whose process died without ending it is marked ``interrupted`` (checked
every ``ALIVE_CHECK_MS``). Each read is one small JSON file (a few KB), well under a
millisecond of work, yet it is done on the app's pool (:func:`read_run_files`), one read
at a time, and applied here: on the GUI thread each open, stat and ``realpath`` released
the GIL and waited to get it back from a pool thread drawing the epoch's charts (late
ticks at every epoch's end, docs/BENCHMARKS.md section 14).
"""
from __future__ import annotations

import logging
import os
import socket

from PySide6.QtCore import QObject, QTimer, Signal, Slot

from training.runs.runfolder import HISTORY_JSON, LIVE_JSON, RUN_JSON
from workbench.workers.pool import run_then
from workbench.workers.run_watcher import RunWatcher, same_path

log = logging.getLogger(__name__)

ALIVE_CHECK_MS = 2000   # a followed run on this host: is its process still there?


class RunFollower(QObject):
    """Follow one run folder for the Training panel (see module docstring).

    Signals:
        began(str): following a run another process trains (its folder): the panel
            clears what it shows.
        epoch(dict): an epoch not shown yet, in order.
        epochsDone(int, int): a followed run's epochs done and its epochs in all (until
            its next batch arrives, the bar shows them).
        batch(dict), status(str), progress(int, int, str): as the training events.
        note(str): a line for the panel's log (a file refused, what is followed).
        host(str): where a followed run trains (its host and pid).
        changed(): what the panel's header and buttons show has changed (the run's
            model or settings, following started).
        ended(dict): a followed run ended: its ``run.json`` with ``run_dir``.
    """

    began = Signal(str)
    epoch = Signal(dict)
    epochsDone = Signal(int, int)
    batch = Signal(dict)
    status = Signal(str)
    progress = Signal(int, int, str)
    note = Signal(str)
    host = Signal(str)
    changed = Signal()
    ended = Signal(dict)

    def __init__(self, parent=None):
        super().__init__(parent)
        self.run_dir: str | None = None
        self.local = False              # trained by the app's own training process
        self.stop_sent = False
        self.model: str | None = None   # the followed run's model name (run.json)
        self.config: dict | None = None   # the run's own settings (config.json), once read
        self._epochs = 0                # epochs emitted so far (history.json's length)
        self._live_at = None
        self._live_problem: str | None = None
        self._run_problem: str | None = None
        self._wanted: set[str] = set()   # files changed since the last read was asked
        self._reading = False            # a read is on the pool (one at a time, in order)
        self._follows = 0                # follow() calls: a read of an older one is dropped
        self.watcher = RunWatcher(parent=self)
        self.watcher.runChanged.connect(self._on_changed)
        self._alive = QTimer(self)
        self._alive.setInterval(ALIVE_CHECK_MS)
        self._alive.timeout.connect(self._check_alive)

    @property
    def active(self) -> bool:
        return self.run_dir is not None

    def follow(self, run_dir: str, local: bool = False, epochs_shown: int = 0) -> None:
        """Show ``run_dir`` live until its trainer finishes (it may not exist yet).

        Args:
            local: the app's own training process trains it (the panel has set itself
                up and feeds the stream's events; the process's end ends the run).
            epochs_shown: epochs the panel shows already (a resumed run's history).
        """
        self.unfollow()
        self._follows += 1
        self.local = local
        if not local:
            self.began.emit(run_dir)
        self.run_dir = run_dir
        self.stop_sent, self._epochs, self._live_at, self.model = False, epochs_shown, None, None
        self.config = None
        self._live_problem = self._run_problem = None
        self.watcher.watch(run_dir)
        if not local:
            self._alive.start()
        self._refresh({RUN_JSON, HISTORY_JSON, LIVE_JSON})
        self.changed.emit()

    def unfollow(self) -> None:
        if self.run_dir is not None:
            self.watcher.unwatch(self.run_dir)
        self.run_dir, self.local = None, False
        self._wanted.clear()
        self._alive.stop()

    def reading(self) -> bool:
        """Whether the run's files are being read on the pool (tests wait for it)."""
        return self._reading

    def stop(self) -> None:
        """The panel is shutting down."""
        self.unfollow()
        self.watcher.stop()

    def request_stop(self) -> bool:
        """Ask the followed run's trainer to stop (it polls for the request file).

        Returns False when there is nothing to ask (not following, or asked already).

        Raises:
            OSError: the request could not be written into the run folder.
        """
        if not self.active or self.stop_sent:
            return False
        from training.runs.follow import request_stop

        request_stop(self.run_dir, who="workbench GUI")
        self.stop_sent = True
        return True

    # ----------------------------------------------------------------- the stream (local runs)
    @Slot(dict)
    def on_epoch(self, info: dict) -> None:
        """An epoch from the local training process's event stream."""
        if self.run_dir is not None:
            self._show_epochs([info], first=int(info.get("epoch") or self._epochs + 1))

    @Slot(dict)
    def on_batch(self, info: dict) -> None:
        if self.run_dir is not None:
            self.batch.emit(info)

    # ----------------------------------------------------------------- file changes
    @Slot(str, list)
    def _on_changed(self, run_dir: str, names: list) -> None:
        if self.run_dir is not None and same_path(run_dir, self.run_dir):
            self._refresh(set(names))

    def _refresh(self, names: set) -> None:
        """Read the changed files on the pool (after the read under way, if any)."""
        if self.run_dir is None:
            return
        self._wanted |= set(names)
        if not self._reading:
            self._read_next()

    def _read_next(self) -> None:
        names, self._wanted = self._wanted, set()
        if self.local:
            names.discard(LIVE_JSON)   # the stream is fresher than live.json
        if self.run_dir is None or not names:
            return
        self._reading = run_then(self._on_read, read_run_files, self.run_dir, names,
                                 self.config is None, self._follows)

    def _on_read(self, result) -> None:
        """The pool's read (GUI thread), applied as the files say, unless the run
        followed has changed since; then the next read, if files changed meanwhile."""
        self._reading = False
        if (result is not None and self.run_dir is not None
                and result["follows"] == self._follows):
            if "history" in result:
                self._show_history(result["history"], result.get("config"))
            if "live" in result:
                self._live(*result["live"])
            if "run" in result and self.run_dir is not None:
                self._status(*result["run"])
        self._read_next()

    def _new_epochs(self) -> None:
        """history.json read here: only at a followed run's end (see :meth:`_status`)."""
        read = read_run_files(self.run_dir, {HISTORY_JSON}, self.config is None, self._follows)
        self._show_history(read["history"], read.get("config"))

    def _show_history(self, history: list, config: dict | None) -> None:
        self._show_epochs(history[self._epochs:], first=self._epochs + 1)
        if self.config is None and history and config is not None:
            self.config = config   # the header shows the run's own settings
            self.changed.emit()

    def _show_epochs(self, infos: list, first: int) -> None:
        """Emit epochs numbered ``first``, ``first + 1``… that are not shown yet."""
        shown = 0
        for offset, info in enumerate(infos):
            if first + offset <= self._epochs:
                continue
            self.epoch.emit(dict(info))
            self._epochs = first + offset
            shown += 1
        if shown and not self.local:
            self.epochsDone.emit(self._epochs, max(1, int(infos[-1].get("epochs") or 1)))

    def _live(self, live: dict | None, problem: str | None) -> None:
        if problem and problem != self._live_problem:   # said once, not every 2 s
            self._live_problem = problem
            self.note.emit(f"Progress file ignored: {problem}")
        if not live or live.get("updated") == self._live_at:
            return
        self._live_at = live.get("updated")
        batch, progress = live.get("batch"), live.get("progress")
        if isinstance(progress, dict) and progress.get("total"):
            self.progress.emit(int(progress["done"]), int(progress["total"]), str(progress["what"]))
        if isinstance(batch, dict) and int(batch.get("epoch", 0)) >= self._epochs:
            # The epoch in progress, or the last batch of the epoch just finished (the
            # trainer rewrites live.json at every epoch end; fast epochs see only that).
            self.batch.emit(batch)
        elif live.get("status") and not isinstance(batch, dict):
            self.status.emit(str(live["status"]))
        if live.get("host"):
            self.host.emit(f"{live.get('host')} (pid {live.get('pid')})")

    @Slot()
    def _check_alive(self) -> None:
        if self.run_dir is not None and not self.local:
            self._refresh({RUN_JSON})

    def _status(self, run: dict | None, problem: str | None) -> None:
        """run.json as read on the pool: ``run``, or ``problem`` (None: not written yet)."""
        from training.runs.runfolder import RunFolder

        if run is None:
            # Not written yet: the next event. A file that is there but refused (damaged,
            # too large, hostile) is said once, and the window goes on following.
            if problem and problem != self._run_problem:
                self._run_problem = problem
                self.note.emit(f"Cannot read the run's status: {problem}")
            return
        status = run.get("status")
        if run.get("model") != self.model:
            self.model = run.get("model")
            self.changed.emit()   # the header names the followed run's model
        if status == "running" or self.local:
            return   # a local run ends when its process has ended (the panel says so)
        self._new_epochs()   # the last epoch may land together with the final status
        run_dir = self.run_dir
        if status == "interrupted" and run.get("host") in (None, socket.gethostname()):
            # Its process died on this machine: never leave the run "running" on disk.
            RunFolder(run_dir).close_dead_run("interrupted", "The process training it ended "
                                              "without finishing it")
        self.unfollow()
        self.ended.emit({**run, "run_dir": run_dir})


def running_elsewhere(run_dir: str) -> bool:
    """True when ``run_dir`` is being trained by another live process (or host)."""
    from training.runs.runfolder import RunError, RunFolder

    try:
        run = RunFolder(run_dir).load()
    except RunError:
        return False
    return run.get("status") == "running" and run.get("pid") != os.getpid()


def read_run_files(run_dir: str, names: set, want_config: bool, follows: int) -> dict:
    """On a pool thread: the followed run's changed files, checked, as plain data.

    ``history`` (history.json) and ``config`` (config.json, when ``want_config`` and the
    history has an epoch), ``live`` (``read_live_checked``'s pair) and ``run`` (run.json
    loaded, or None and why; no reason when it is not there yet), for the ``names`` given.
    """
    from training.runs.follow import read_live_checked
    from training.runs.runfolder import RunError, RunFolder

    out: dict = {"follows": follows}
    if HISTORY_JSON in names:
        from workbench.panels.training_bad_files import read_run_config
        from workbench.workers.evaluation import read_history

        out["history"] = read_history(run_dir)
        if want_config and out["history"]:
            out["config"] = read_run_config(run_dir)
    if LIVE_JSON in names:
        out["live"] = read_live_checked(run_dir)
    if RUN_JSON in names:
        folder = RunFolder(run_dir)
        try:
            out["run"] = (folder.load(), None)
        except RunError as exc:
            out["run"] = (None, str(exc) if os.path.lexists(folder.run_json) else None)
    return out
