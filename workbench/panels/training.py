"""The Training panel: start/stop/resume a run, live progress, curves and an epoch log.

Every run trains in a process of its own, supervised by
:class:`~workbench.workers.training.TrainingWorker` on its own thread; this panel only
receives plain-data signals, and shows a run it trains exactly as it follows one that
another process trains (:mod:`workbench.panels.training_follow`). Stop asks the process
to stop after its current batch; when it has not stopped after ``FORCE_STOP_AFTER_MS``,
"Force stop" kills it (the run stays resumable). Charts are redrawn once per epoch,
never per batch.
"""
from __future__ import annotations

import os
import time

from PySide6.QtCore import QTimer, Slot
from PySide6.QtWidgets import QWidget

from workbench.panels.training_bad_files import read_run_config
from workbench.panels.training_display import RunDisplay
from workbench.panels.training_follow import RunFollower
from workbench.panels.training_layout import setup_ui
from workbench.panels.training_runinfo import (checkpoint_epoch, read_history, read_run_view,
                                               resumable_run, setup_text)
from workbench.panels.training_text import (BatchProgress, device_text, finished_text,
                                            force_stopped_message, hint_text, stopped_message)
from workbench.workers.job_runner import JobRunner
from workbench.workers.pool import run_then
from workbench.workers.spare_trainer import AFTER_RUN_MS, SpareTrainer
from workbench.workers.training import SHUTDOWN_GRACE_S, TrainingJob, TrainingWorker

FORCE_STOP_AFTER_MS = 4000   # Stop pressed this long ago and the process still runs


class TrainingPanel(RunDisplay, QWidget):
    """Start / Stop / Resume training and watch it (see module docstring)."""

    title = "Training"

    def __init__(self, state, parent=None):
        super().__init__(parent)
        self.state = state
        self.runner = JobRunner(self)
        self.run_dir: str | None = None      # the run being trained / last trained
        self.best_epoch: int | None = None
        self.epochs_seen = 0
        # Seconds from Stop to the thread's end (Start usable again), and to the core
        # reporting the run as stopped (before its clean-up: saving, freeing memory).
        self.last_stop_latency: float | None = None
        self.stop_ack_latency: float | None = None
        self._stop_at: float | None = None
        self._batches = BatchProgress()   # the bar's text while batches run
        self._resume_config: dict | None = None   # the run's own settings while resuming it
        self._worker: TrainingWorker | None = None   # the running job's supervisor
        self._job_root: str | None = None   # the dataset the local run trains on
        self._facts: tuple[str, bool] | None = None   # RunDisplay._ask_facts' answers
        self._asking = False
        self._ask_next: str | None = None
        self._show_bad_for: str | None = None
        self._reading = 0   # chosen runs being read on the pool (_on_run_changed)
        self.spare = SpareTrainer()    # a training process started ahead of Start
        self._closed = False           # shutdown() ran: no new spare process
        self._runs_soon = QTimer(self, singleShot=True, interval=0)   # see _done
        self._runs_soon.timeout.connect(state.runsUpdated)
        self._spare_soon = QTimer(self, singleShot=True, interval=AFTER_RUN_MS, timeout=self._prepare_spare)
        self._force_timer = QTimer(self)
        self._force_timer.setSingleShot(True)
        self._force_timer.setInterval(FORCE_STOP_AFTER_MS)
        self._force_timer.timeout.connect(self._offer_force_stop)
        self._build()
        # Every run is shown through the follower (training_follow): the local one, fed
        # sooner by its process's events, and one another process trains (CLI, cluster).
        self.follower = RunFollower(self)
        self._connect_follower(self.follower)
        state.datasetChanged.connect(self._update_controls)
        state.datasetChanged.connect(self._prepare_spare)
        state.specChanged.connect(self._update_controls)
        state.configChanged.connect(self._update_controls)
        state.runChanged.connect(self._on_run_changed)
        self._update_controls()
        if state.run_dir:
            self.show_run(state.run_dir)

    def _connect_follower(self, f: RunFollower) -> None:
        f.began.connect(self._on_follow_began)
        f.epoch.connect(self._on_epoch)
        f.epochsDone.connect(self._on_epochs_done)
        f.batch.connect(self._on_batch)
        f.status.connect(self._on_status)
        f.progress.connect(self._on_progress)
        f.note.connect(self.log.appendPlainText)
        f.host.connect(self._on_follow_host)
        f.changed.connect(self._update_controls)
        f.ended.connect(self._on_follow_ended)

    def _build(self) -> None:
        setup_ui(self)   # the widgets and their layout (workbench/panels/training_layout.py)
        self.start_button.clicked.connect(self.start_training)
        self.stop_button.clicked.connect(self.stop_training)
        self.force_button.clicked.connect(self.force_stop)
        self.resume_button.clicked.connect(self.resume_training)
        self.follow_button.clicked.connect(self.choose_run_to_follow)

    # ----------------------------------------------------------------- public API
    def is_training(self) -> bool:
        return self.runner.current_busy()

    def pending_work(self) -> bool:
        return (self.runner.busy() or self._asking or self._reading > 0
                or self.follower.reading() or self._runs_soon.isActive())

    def shutdown(self) -> None:
        """Stop training (the process saves the run), kill it if it takes longer than
        ``SHUTDOWN_GRACE_S``, and wait for its thread; end the spare process."""
        self._closed = True   # no spare process after this (a run's end may have asked for one)
        self._spare_soon.stop()
        self.follower.stop()
        self._force_timer.stop()
        worker = self._worker
        if worker is not None and self.is_training():
            worker.stop_within(SHUTDOWN_GRACE_S)   # then killed: the run stays resumable
        self.runner.shutdown(timeout_ms=15000)
        self._worker = None
        self.spare.shutdown()
        self.accuracy_chart.shutdown()
        self.loss_chart.shutdown()

    @Slot()
    def start_training(self) -> None:
        if self.is_training():
            return
        if self.state.dataset is None:
            self._update_controls()
            return
        from training.models.backbones import missing_weights

        problem = missing_weights(self.state.model_spec)   # it would fail at once: say why now
        if problem:
            self.error_label.setText(f"Not started. {problem}")
            self.error_label.show()
            self.state.statusMessage.emit("Not started: the model's ImageNet weights are missing")
            return
        self._begin(history=[])
        from workbench.actions.fixes import dataset_for_training

        dataset = dataset_for_training(self.state)   # a DatasetIndex, or a DatasetSpec to reopen
        dataset = getattr(dataset, "spec", None) or dataset
        spec, config = self.state.model_spec, self.state.train_config
        self._job_root = os.path.abspath(str(self.state.dataset.root))
        job = TrainingJob(dataset=dataset.to_dict(), index=self.state.dataset,
                          spec=spec.to_dict() if spec is not None else None,
                          config=config.to_dict() if config is not None else None)
        self._launch(TrainingWorker(job, self.spare), "Training started")

    @Slot()
    def resume_training(self) -> None:
        run_dir = resumable_run(self.state.run_dir)   # a click: read now, to be sure
        if self.is_training() or run_dir is None:
            return
        # The epochs up to the checkpoint: a later one in history.json (its process died
        # while saving it) is trained again, and shown when it is.
        self._begin(history=read_history(run_dir)[:checkpoint_epoch(run_dir) or 0])
        self._resume_config = read_run_config(run_dir)
        self.run_dir = run_dir
        self._launch(TrainingWorker(TrainingJob(resume=run_dir), self.spare),
                     f"Resuming {os.path.basename(run_dir)}")

    def follow_run(self, run_dir: str) -> None:
        """Follow ``run_dir``, trained by another process, live (see training_follow)."""
        if not self.is_training():
            self.follower.follow(run_dir)

    @Slot()
    def choose_run_to_follow(self) -> None:
        from PySide6.QtWidgets import QFileDialog

        from workbench.workers.run_watcher import runs_root

        folder = QFileDialog.getExistingDirectory(self, "Run folder to follow", runs_root())
        if folder:
            self.follow_run(folder)

    @Slot()
    def stop_training(self) -> None:
        if self.follower.active and not self.is_training():
            self._ask_followed_run_to_stop()
            return
        if not self.is_training() or self._stop_at is not None:
            return
        self._stop_at = time.monotonic()
        self.stop_ack_latency = None
        self.runner.request_stop()
        self.stop_button.setEnabled(False)
        self.stop_button.setText("Stopping…")
        self.progress.setFormat("Stopping after the current batch…")
        self._force_timer.start()

    def _ask_followed_run_to_stop(self) -> None:
        try:
            if not self.follower.request_stop():
                return
        except OSError as exc:
            self._show_error(f"Could not ask the run to stop: {exc}")
            return
        self._stop_at = time.monotonic()
        self.stop_button.setEnabled(False)
        self.stop_button.setText("Stopping…")
        self.progress.setFormat("Stop requested; the other process stops after its current batch…")

    @Slot()
    def _offer_force_stop(self) -> None:
        if self.is_training() and self._stop_at is not None:
            self.force_button.show()
            self.force_button.setEnabled(True)
            self.hint.setText("Not stopped yet (it finishes its batch, then saves). Force "
                              "stop ends it now; the run is kept for Resume.")

    @Slot()
    def force_stop(self) -> None:
        """Kill the training process (after Stop did not end it soon enough)."""
        if self._worker is not None and self.is_training():
            self.force_button.setEnabled(False)
            self.progress.setFormat("Ending the training process…")
            self._worker.force_stop()

    # ----------------------------------------------------------------- worker signals
    @Slot(float)
    def _on_stop_acknowledged(self, seconds: float) -> None:
        self.stop_ack_latency = seconds

    @Slot(dict)
    def _on_device(self, info: dict) -> None:
        label, tip, problem = device_text(info)
        self.device_label.setText(label)
        self.device_label.setToolTip(tip)
        self.state.device = str(info.get("name") or "CPU")
        self.gpu_note.setText(problem)
        self.gpu_note.setVisible(bool(problem))

    @Slot(str)
    def _on_run_folder(self, run_dir: str) -> None:
        """The local run's folder is known: show the run as every run is shown."""
        self.run_dir = run_dir
        self.follower.follow(run_dir, local=True, epochs_shown=len(self.accuracy_chart.epochs))

    # ----------------------------------------------------------------- follower signals
    @Slot(str)
    def _on_follow_began(self, run_dir: str) -> None:
        """Following a run another process trains: show it from its start."""
        self._begin(history=[])
        self._resume_config = None
        self.run_dir = run_dir
        name = os.path.basename(run_dir.rstrip("/\\"))
        self.log.appendPlainText(f"Following {name}, trained by another process "
                                 f"(its folder: {run_dir}).")
        self.progress.setFormat(f"Following {name}: waiting for its first files…")

    @Slot(dict)
    def _on_follow_ended(self, run: dict) -> None:
        self._resume_config = None
        self._finished(run)
        self._done()

    @Slot(dict)
    def _on_spec_used(self, spec: dict) -> None:
        if self.state.model_spec is None:
            self.log.appendPlainText(f"No model chosen: using the {spec.get('template', 'cnn')} "
                                     f"template for {tuple(spec.get('input_size', ()))} "
                                     f"{spec.get('color_mode', '')} input.")

    def _finished(self, summary: dict) -> None:
        """How a run ended, whoever trained it (``summary``: its run.json or result)."""
        self.run_dir = summary.get("run_dir") or self.run_dir
        self._adopt_bad_files(summary.get("bad_files"))
        self._show_bad_for = self.run_dir   # from its run.json, read on the pool
        self._ask_facts(self.run_dir)
        status = summary.get("status", "complete")
        best = summary.get("best_epoch") or self.best_epoch
        if status == "interrupted":
            self._show_unexpected_stop(summary)
        elif summary.get("forced"):
            self._announce(force_stopped_message(checkpoint_epoch(self.run_dir)))
        elif status == "stopped" or self._stop_at is not None:
            self._announce(stopped_message(best))
        elif status == "failed":
            self._show_error(summary.get("error") or "Training failed.")
        else:
            self._announce(finished_text(summary, best))
            self.progress.setValue(1000)

    def _adopt_bad_files(self, records) -> None:
        """Files the training process found unreadable join the open dataset's report
        (the Dataset panel's Bad files list refreshes when the run ends)."""
        index = self.state.dataset
        if not isinstance(records, list) or index is None or self._job_root is None:
            return
        if os.path.abspath(str(index.root)) == self._job_root:   # still the dataset it trained
            index.add_bad_files(records)

    def _failed(self, message: str) -> None:
        self._show_error(message)

    def _stopped(self) -> None:
        # Stopped before the core could return a summary (e.g. while loading TensorFlow);
        # a stop during training ends with ``finished`` and a "stopped" summary instead.
        self._announce(stopped_message(self.best_epoch))

    def _done(self) -> None:
        self._resume_config = None
        if self._stop_at is not None:
            self.last_stop_latency, self._stop_at = time.monotonic() - self._stop_at, None
        self._force_timer.stop()
        self.force_button.hide()
        self._job_root = None
        if self._worker is not None:   # a local run: its process has ended
            self._worker = None
            self.follower.unfollow()
            self._spare_soon.start()   # a spare process for the next Start (see below)
        self.stop_button.setText("Stop")
        if self.run_dir and not os.path.isdir(self.run_dir):
            self.run_dir = None   # a run that never began (its empty folder was removed)
        if self.run_dir:
            self.state.set_run(self.run_dir)
        self._update_controls()
        # The other panels' refresh (runs list, bad files) on a pass of its own, the spare's
        # start (a fork, a log file) AFTER_RUN_MS later: back to back with the above they
        # kept the GUI thread 11-18 ms (BENCHMARKS section 14).
        self._runs_soon.start()

    # ----------------------------------------------------------------- helpers
    def _launch(self, worker: TrainingWorker, message: str) -> None:
        self.follower.unfollow()
        worker.runFolder.connect(self._on_run_folder)
        worker.batch.connect(self.follower.on_batch)
        worker.epoch.connect(self.follower.on_epoch)
        worker.device.connect(self._on_device)
        worker.specUsed.connect(self._on_spec_used)
        worker.stopAcknowledged.connect(self._on_stop_acknowledged)
        self._worker = worker
        self.runner.start(worker, finished=self._finished, failed=self._failed,
                          stopped=self._stopped, done=self._done,
                          status=self._on_status, progress=self._on_progress)
        self.state.statusMessage.emit(message)
        self._update_controls()

    @Slot()
    def _update_controls(self) -> None:
        busy = self.is_training()
        has_data = self.state.dataset is not None
        following = self.follower.active and not busy
        self.start_button.setEnabled(has_data and not busy)
        self.stop_button.setEnabled((busy or following) and self._stop_at is None)
        self.follow_button.setEnabled(not busy)
        resumable = None if busy else self._known_resumable()
        self.resume_button.setEnabled(resumable is not None)
        self.hint.setText(hint_text(busy, following, resumable, has_data))
        self.setup_label.setText(self._setup_text())
        if self.state.device and not self.device_label.text():
            self.device_label.setText(f"Device: {self.state.device}")

    @Slot(str)
    def _on_run_changed(self, run_dir: str) -> None:
        if run_dir and not self.is_training() and run_dir != self.run_dir:
            # Its run.json and history.json are read on the pool (:meth:`_on_run_read`).
            self._reading += run_then(self._on_run_read, read_run_view, run_dir)
        self._update_controls()

    def _on_run_read(self, result) -> None:
        """The chosen run, read on the pool: follow it if another process trains it, else
        show it. Dropped when another run was chosen meanwhile, or a training began."""
        self._reading -= 1
        if result is None:
            return
        run_dir, elsewhere, history, bad_files = result
        if run_dir != self.state.run_dir or self.is_training() or run_dir == self.run_dir:
            return
        if elsewhere:
            self.follow_run(run_dir)   # live, as if it were trained here
        else:
            self.follower.unfollow()
            self.show_run(run_dir, history, bad_files)
        self._update_controls()

    def showEvent(self, event) -> None:
        super().showEvent(event)
        self._prepare_spare()

    @Slot()
    def _prepare_spare(self) -> None:
        """Shown with a dataset open: TensorFlow loads in a spare training process while
        the person looks at the panel, so Start does not wait for it."""
        if (self.isVisible() and self.state.dataset is not None and not self.is_training()
                and not self._closed):
            self.spare.prepare()

    def _setup_text(self) -> str:
        followed = self.follower.model if self.follower.active and not self.is_training() else None
        active = self.is_training() or self.follower.active
        resumed = (self._resume_config or self.follower.config) if active else None
        return setup_text(self.state, resumed, followed)
