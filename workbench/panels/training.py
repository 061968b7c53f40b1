"""The Training panel: start/stop/resume a run, live progress, curves and an epoch log.

Training runs in :class:`~workbench.workers.training.TrainingWorker` on its own thread;
this panel only receives plain-data signals. Charts are redrawn once per epoch, never
per batch (a redraw costs ~100 ms on the GUI thread).
"""
from __future__ import annotations

import os
import time
import types

from PySide6.QtCore import Qt, Slot
from PySide6.QtWidgets import (QHBoxLayout, QLabel, QPlainTextEdit, QProgressBar,
                               QPushButton, QSplitter, QVBoxLayout, QWidget)

from workbench.actions import shortcuts
from workbench.charts.training_curves import TrainingCurves
from workbench.panels.training_follow import RunFollower, running_elsewhere
from workbench.panels.training_bad_files import bad_files_label, read_run_config, show_bad_files
from workbench.panels.training_text import duration, epoch_line, stopped_message
from workbench.widgets.error_details import DetailsButton
from workbench.workers.job_runner import JobRunner
from workbench.workers.training import TrainingWorker


class TrainingPanel(QWidget):
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
        self._phase_start: tuple | None = None  # (phase, monotonic time, steps done then)
        self._status_epoch = None        # (epoch, phase) the status line last announced
        self._resume_config: dict | None = None   # the run's own settings while resuming it
        self._build()
        # A run trained by another process (CLI, cluster), shown live; see training_follow.
        self.follower = RunFollower(self)
        state.datasetChanged.connect(self._update_controls)
        state.specChanged.connect(self._update_controls)
        state.configChanged.connect(self._update_controls)
        state.runChanged.connect(self._on_run_changed)
        self._update_controls()
        if state.run_dir:
            self.show_run(state.run_dir)

    # ----------------------------------------------------------------- layout
    def _build(self) -> None:
        self.start_button = QPushButton("Start training")
        # F5 and Esc are window-wide actions (workbench/actions/training_actions.py), so they work
        # from any panel and wherever the focus is.
        self.start_button.setToolTip(f"Train the current model on the current dataset "
                                     f"({shortcuts.text('start_training')})")
        self.start_button.clicked.connect(self.start_training)
        self.stop_button = QPushButton("Stop")
        self.stop_button.setToolTip(f"Stop after the current batch; the best weights are kept "
                                    f"({shortcuts.text('stop_training')})")
        self.stop_button.clicked.connect(self.stop_training)
        self.resume_button = QPushButton("Resume")
        self.resume_button.setToolTip("Continue the selected stopped or interrupted run "
                                      "from its last checkpoint")
        self.resume_button.clicked.connect(self.resume_training)
        self.follow_button = QPushButton("Follow a run…")
        self.follow_button.setToolTip("Open a run folder that another process is training "
                                      "(a terminal, or a cluster job on shared storage) and "
                                      "follow it live here; Stop then asks it to stop")
        self.follow_button.clicked.connect(self.choose_run_to_follow)
        self.hint = QLabel()
        self.hint.setWordWrap(True)
        buttons = QHBoxLayout()
        for b in (self.start_button, self.stop_button, self.resume_button, self.follow_button):
            buttons.addWidget(b)
        buttons.addWidget(self.hint, 1)

        self.setup_label = QLabel()
        self.setup_label.setWordWrap(True)
        self.device_label = QLabel()
        self.device_label.setAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        info = QHBoxLayout()
        info.addWidget(self.setup_label, 1)
        info.addWidget(self.device_label)

        self.progress = QProgressBar()
        self.progress.setRange(0, 1000)
        self.progress.setValue(0)
        self.progress.setTextVisible(True)
        self.progress.setFormat("Idle")
        self.status_label = QLabel("")
        self.status_label.setWordWrap(True)
        # Messages can be selected and copied (into a bug report, a search).
        self.status_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.status_label.setWordWrap(True)
        self.error_label = QLabel()
        self.error_label.setWordWrap(True)
        self.error_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.error_label.setStyleSheet("QLabel { color: #b00020; background: #fdecea; "
                                       "border: 1px solid #f5c2c0; padding: 6px; }")
        self.error_label.hide()
        self.error_details = DetailsButton(self)   # the traceback from the log file
        self.error_details.hide()
        self.bad_files_label = bad_files_label(self)

        self.accuracy_chart = TrainingCurves("accuracy")
        self.loss_chart = TrainingCurves("loss")
        charts = QSplitter(Qt.Orientation.Horizontal)
        charts.addWidget(self.accuracy_chart)
        charts.addWidget(self.loss_chart)
        self.log = QPlainTextEdit()
        self.log.setReadOnly(True)
        self.log.setPlaceholderText("One line per epoch appears here while training runs.")
        self.log.setMaximumBlockCount(5000)
        self.splitter = QSplitter(Qt.Orientation.Vertical)
        self.splitter.addWidget(charts)
        self.splitter.addWidget(self.log)
        self.splitter.setStretchFactor(0, 3)
        self.splitter.setStretchFactor(1, 1)

        layout = QVBoxLayout(self)
        layout.addLayout(info)
        layout.addLayout(buttons)
        layout.addWidget(self.progress)
        layout.addWidget(self.status_label)
        error_row = QHBoxLayout()
        error_row.addWidget(self.error_label, 1)
        error_row.addWidget(self.error_details)
        layout.addLayout(error_row)
        layout.addWidget(self.bad_files_label)
        layout.addWidget(self.splitter, 1)

    # ----------------------------------------------------------------- public API
    def is_training(self) -> bool:
        return self.runner.current_busy()

    def pending_work(self) -> bool:
        return self.runner.busy()

    def shutdown(self) -> None:
        """Stop training (best weights are kept by the core) and wait for the thread."""
        self.follower.stop()
        self.runner.shutdown(timeout_ms=15000)
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

        worker = TrainingWorker(dataset=dataset_for_training(self.state), spec=self.state.model_spec,
                                config=self.state.train_config)
        self._launch(worker, "Training started")

    @Slot()
    def resume_training(self) -> None:
        run_dir = self._resumable_run()
        if self.is_training() or run_dir is None:
            return
        self._begin(history=_read_history(run_dir))
        self._resume_config = read_run_config(run_dir)
        self.run_dir = run_dir
        self._launch(TrainingWorker(run_dir=run_dir, resume=True),
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
            self.follower.request_stop()
            return
        if not self.is_training() or self._stop_at is not None:
            return
        self._stop_at = time.monotonic()
        self.stop_ack_latency = None
        self.runner.request_stop()
        self.stop_button.setEnabled(False)
        self.stop_button.setText("Stopping…")
        self.progress.setFormat("Stopping after the current batch…")

    # ----------------------------------------------------------------- worker signals
    @Slot(str)
    def _on_status(self, message: str) -> None:
        self.status_label.setText(message)

    @Slot(float)
    def _on_stop_acknowledged(self, seconds: float) -> None:
        self.stop_ack_latency = seconds

    @Slot(int, int, str)
    def _on_progress(self, done: int, total: int, what: str) -> None:
        if self._phase_start is not None or total <= 0:
            return  # batches drive the bar once training has started
        self.progress.setValue(int(1000 * done / total))
        self.progress.setFormat(f"{what[:1].upper()}{what[1:]}: {done:,} / {total:,}")

    @Slot(dict)
    def _on_batch(self, info: dict) -> None:
        if self._stop_at is not None:
            return
        epoch, epochs = int(info.get("epoch", 1)), max(1, int(info.get("epochs", 1)))
        batch, batches = int(info.get("batch", 0)), max(1, int(info.get("batches", 1)))
        phase = info.get("phase", "train")
        step = (epoch - 1) * batches + batch
        now = time.monotonic()
        if self._phase_start is None or self._phase_start[0] != phase:
            self._phase_start = (phase, now, step)
        _, t0, s0 = self._phase_start
        fraction = step / (epochs * batches)
        eta = ""
        if step > s0 and now > t0:
            eta = " · ETA " + duration((now - t0) / (step - s0) * (epochs * batches - step))
        name = "Fine-tuning" if phase == "fine_tune" else "Training"
        if (epoch, phase) != self._status_epoch:
            # Decoding is over once batches run: say so, rather than leave the last status.
            self._status_epoch = (epoch, phase)
            self.status_label.setText(f"{name}: epoch {epoch} of {epochs}…")
        self.progress.setValue(int(1000 * min(1.0, fraction)))
        self.progress.setFormat(f"{name} · epoch {epoch}/{epochs} · batch {batch}/{batches}{eta}")

    @Slot(dict)
    def _on_epoch(self, info: dict) -> None:
        self.epochs_seen += 1
        if info.get("best"):
            self.best_epoch = int(info.get("epoch", self.epochs_seen))
        self.accuracy_chart.add_epoch(info)
        self.loss_chart.add_epoch(info)
        line = epoch_line(info)
        self.log.appendPlainText(line)
        self.status_label.setText(line)

    @Slot(str)
    def _on_device(self, name: str) -> None:
        self.device_label.setText(f"Device: {name}")
        self.state.device = name

    @Slot(dict)
    def _on_spec_used(self, spec: dict) -> None:
        if self.state.model_spec is None:
            self.log.appendPlainText(f"No model chosen: using the {spec.get('template', 'cnn')} "
                                     f"template for {tuple(spec.get('input_size', ()))} "
                                     f"{spec.get('color_mode', '')} input.")

    def _finished(self, summary: dict) -> None:
        self.run_dir = summary.get("run_dir") or self.run_dir
        show_bad_files(self.bad_files_label, self.run_dir)
        status = summary.get("status", "complete")
        best = summary.get("best_epoch") or self.best_epoch
        if status == "stopped" or self._stop_at is not None:
            self._announce(stopped_message(best))
        elif status == "failed":
            self._show_error(summary.get("error") or "Training failed.")
        else:
            acc = summary.get("test_accuracy")
            text = "Training finished"
            if acc is not None:
                text += f": test accuracy {acc:.1%}"
            if best:
                text += f" (best validation epoch {best})"
            self._announce(text)
            self.progress.setValue(1000)

    def _failed(self, message: str) -> None:
        self._show_error(message)

    def _stopped(self) -> None:
        # Stopped before the core could return a summary (e.g. while loading TensorFlow);
        # a stop during training ends with ``finished`` and a "stopped" summary instead.
        self._announce(stopped_message(self.best_epoch))

    def _done(self) -> None:
        self._resume_config = None
        if self._stop_at is not None:
            self.last_stop_latency = time.monotonic() - self._stop_at
        self._stop_at = None
        self.stop_button.setText("Stop")
        if self.run_dir:
            self.state.set_run(self.run_dir)
        self.state.runsUpdated.emit()
        self._update_controls()

    # ----------------------------------------------------------------- helpers
    def _begin(self, history: list) -> None:
        self.best_epoch, self.epochs_seen = None, 0
        self._stop_at, self._phase_start, self.run_dir = None, None, None
        self._status_epoch = None
        self.bad_files_label.hide()
        self.error_label.hide()
        self.error_details.hide()
        self.log.clear()
        self.accuracy_chart.set_history(history) if history else self.accuracy_chart.reset()
        self.loss_chart.set_history(history) if history else self.loss_chart.reset()
        self.best_epoch = self.accuracy_chart.best_epoch if history else None
        self.progress.setValue(0)
        self.progress.setFormat("Preparing…")

    def _launch(self, worker: TrainingWorker, message: str) -> None:
        worker.batch.connect(self._on_batch)
        worker.epoch.connect(self._on_epoch)
        worker.device.connect(self._on_device)
        worker.specUsed.connect(self._on_spec_used)
        worker.stopAcknowledged.connect(self._on_stop_acknowledged)
        self.runner.start(worker, finished=self._finished, failed=self._failed,
                          stopped=self._stopped, done=self._done,
                          status=self._on_status, progress=self._on_progress)
        self.state.statusMessage.emit(message)
        self._update_controls()

    def _announce(self, text: str) -> None:
        self.status_label.setText(text)
        self.progress.setFormat(text)
        self.log.appendPlainText(text)
        self.state.statusMessage.emit(text)

    def _show_error(self, message: str) -> None:
        self.error_label.setText(f"Training failed: {message}")
        self.error_label.show()
        self.error_details.show()
        self.progress.setFormat("Failed")
        self.state.statusMessage.emit("Training failed")

    @Slot()
    def _update_controls(self) -> None:
        busy = self.is_training()
        has_data = self.state.dataset is not None
        following = self.follower.active and not busy
        self.start_button.setEnabled(has_data and not busy)
        self.stop_button.setEnabled((busy or following) and self._stop_at is None)
        self.follow_button.setEnabled(not busy)
        resumable = None if busy else self._resumable_run()
        self.resume_button.setEnabled(resumable is not None)
        if following:
            self.hint.setText("Following a run trained by another process; Stop asks it to "
                              "stop after its current batch.")
        elif busy:
            self.hint.setText("Training… Stop keeps the best weights so far.")
        elif resumable:
            self.hint.setText(f"Run {os.path.basename(resumable.rstrip('/'))} is unfinished: "
                              "Resume continues it from its last checkpoint.")
        elif not has_data:
            self.hint.setText("Open a dataset first (Dataset panel).")
        else:
            self.hint.setText("")
        self.setup_label.setText(self._setup_text())
        if self.state.device and not self.device_label.text():
            self.device_label.setText(f"Device: {self.state.device}")

    @Slot(str)
    def _on_run_changed(self, run_dir: str) -> None:
        if run_dir and not self.is_training() and run_dir != self.run_dir:
            if running_elsewhere(run_dir):
                self.follow_run(run_dir)   # live, as if it were trained here
            else:
                self.follower.unfollow()
                self.show_run(run_dir)
        self._update_controls()

    def show_run(self, run_dir: str) -> None:
        """Show a finished run's curves and epoch log (history.json is a few KB)."""
        history = _read_history(run_dir)
        self.error_label.hide()
        self.error_details.hide()
        show_bad_files(self.bad_files_label, run_dir)
        self.log.clear()
        self.accuracy_chart.set_history(history)
        self.loss_chart.set_history(history)
        self.best_epoch = self.accuracy_chart.best_epoch
        for info in history:
            self.log.appendPlainText(epoch_line(info))
        name = os.path.basename(run_dir.rstrip("/\\"))
        self.status_label.setText(f"Showing run {name}: {len(history)} epoch(s)"
                                  + (f", best validation epoch {self.best_epoch}"
                                     if self.best_epoch else ""))
        self.progress.setValue(1000 if history else 0)
        self.progress.setFormat(f"Run {name}" if history else "Idle")

    def _setup_text(self) -> str:
        ds = self.state.dataset
        data = (f"<b>Dataset:</b> {os.path.basename(str(ds.root).rstrip('/')) or ds.root} "
                f"({len(ds.classes)} classes, {len(ds):,} images)" if ds is not None
                else "<b>Dataset:</b> none")
        spec = self.state.model_spec
        model = (f"<b>Model:</b> {getattr(spec, 'name', None) or getattr(spec, 'template', 'custom')}"
                 if spec is not None else "<b>Model:</b> CNN template (default)")
        if self.follower.active and not self.is_training() and self.follower.model:
            model = f"<b>Model:</b> {self.follower.model} (followed run)"
        cfg = self.state.train_config
        resumed = self._resume_config if (self.is_training() or self.follower.active) else None
        if resumed:   # the header names the run being resumed, not the Model panel's settings
            cfg = types.SimpleNamespace(**resumed)
        if cfg is not None:
            run = (f"{cfg.epochs} epochs · batch {cfg.batch_size} · {cfg.optimizer} "
                   f"lr {cfg.learning_rate:g}")
        else:
            run = "default settings"
        return f"{data} &nbsp;·&nbsp; {model} &nbsp;·&nbsp; <b>Training:</b> {run}"

    def _resumable_run(self) -> str | None:
        run_dir = self.state.run_dir
        if not run_dir or not os.path.isdir(run_dir):
            return None
        from training.runs.runfolder import RunFolder

        ok, _reason = RunFolder(run_dir).can_resume()   # a damaged run is simply not resumable
        return run_dir if ok else None


def _read_history(run_dir: str) -> list:
    from workbench.workers.evaluation import read_history

    return read_history(run_dir)
