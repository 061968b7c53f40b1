"""What the Training panel shows of a run, whoever trains it: the curves, the epoch log,
the progress bar and status line, and how the run ended (finished, stopped, failed,
stopped unexpectedly).

:class:`RunDisplay` is a mixin of :class:`~workbench.panels.training.TrainingPanel`: its
methods are the panel's slots for the run follower's signals (a local run's events and a
followed run's files arrive the same way, see :mod:`workbench.panels.training_follow`) and
use the widgets :func:`~workbench.panels.training_layout.setup_ui` made. Everything here
runs on the GUI thread.
"""
from __future__ import annotations

import os

from PySide6.QtCore import Slot

from workbench.panels.training_bad_files import show_bad_files
from workbench.panels.training_runinfo import checkpoint_epoch, end_facts, read_history
from workbench.panels.training_text import epoch_line, unexpected_stop_message
from workbench.workers.pool import run_then


class RunDisplay:
    """The Training panel's display of one run (mixed into the panel, see module docstring).

    Attributes it keeps: ``run_dir`` (the run shown), ``best_epoch``, ``epochs_seen``,
    and what run.json says, read on the app's pool (``_facts``: the selected run and
    whether it is resumable; ``_asking``, ``_ask_next``, ``_show_bad_for``); the panel
    provides ``state``, ``_batches`` (a ``BatchProgress``), ``_stop_at`` and
    ``_update_controls``.
    """

    def _begin(self, history: list) -> None:
        self.best_epoch, self.epochs_seen = None, 0
        self._stop_at, self.run_dir = None, None
        self._batches.reset()
        self.bad_files_label.hide()
        self.error_label.hide()
        self.error_details.hide()
        self.log.clear()
        self.accuracy_chart.set_history(history) if history else self.accuracy_chart.reset()
        self.loss_chart.set_history(history) if history else self.loss_chart.reset()
        self.best_epoch = self.accuracy_chart.best_epoch if history else None
        self.progress.setValue(0)
        self.progress.setFormat("Preparing…")

    def show_run(self, run_dir: str, history: list | None = None,
                 bad_files: int | None = None) -> None:
        """Show a finished run's curves and epoch log. ``history`` and ``bad_files``: as
        read on the app's pool (``read_run_view``); None reads the files here."""
        history = read_history(run_dir) if history is None else history
        self.error_label.hide()
        self.error_details.hide()
        show_bad_files(self.bad_files_label, run_dir, bad_files)
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

    @Slot(str)
    def _on_status(self, message: str) -> None:
        self.status_label.setText(message)

    @Slot(int, int, str)
    def _on_progress(self, done: int, total: int, what: str) -> None:
        if self._batches.started or total <= 0:
            return  # batches drive the bar once training has started
        self.progress.setValue(int(1000 * done / total))
        self.progress.setFormat(f"{what[:1].upper()}{what[1:]}: {done:,} / {total:,}")

    @Slot(dict)
    def _on_batch(self, info: dict) -> None:
        if self._stop_at is not None:
            return
        value, text, status = self._batches.update(info)
        if status:
            self.status_label.setText(status)
        self.progress.setValue(value)
        self.progress.setFormat(text)

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

    @Slot(int, int)
    def _on_epochs_done(self, done: int, total: int) -> None:
        # A followed run: until its next batch arrives, the bar shows the epochs done.
        self.progress.setValue(int(1000 * min(1.0, done / total)))
        self.progress.setFormat(f"Epoch {done}/{total} done")

    @Slot(str)
    def _on_follow_host(self, where: str) -> None:
        self.device_label.setText(f"Followed run · {where}")

    def _announce(self, text: str) -> None:
        self.status_label.setText(text)
        self.progress.setFormat(text)
        self.log.appendPlainText(text)
        self.state.statusMessage.emit(text)

    def _show_error(self, message: str, details: str | None = None, prefix="Training failed: ",
                    progress="Failed") -> None:
        self.error_label.setText(f"{prefix}{message}")
        self.error_label.show()
        self.error_details.details = details   # None: the newest traceback in the log
        self.error_details.show()
        self.progress.setFormat(progress)
        self.state.statusMessage.emit("Training failed" if prefix else progress)

    def _show_unexpected_stop(self, summary: dict) -> None:
        text = unexpected_stop_message(summary.get("exit"), checkpoint_epoch(self.run_dir),
                                       len(self.accuracy_chart.epochs))
        self._show_error(text, summary.get("details"), prefix="", progress="Stopped unexpectedly")
        self.log.appendPlainText(text)

    def _known_resumable(self) -> str | None:
        """The selected run if it was last found resumable. Asks again (on the pool):
        the controls follow when the answer changes (:meth:`_on_facts`)."""
        run_dir = self.state.run_dir
        self._ask_facts(run_dir)
        known = self._facts
        return run_dir if known is not None and known == (run_dir, True) else None

    def _ask_facts(self, run_dir: str | None) -> None:
        """Read ``run_dir``'s run.json (resumable? bad files?) on the app's pool: at a
        run's end these reads on the GUI thread were among its late ticks (each system
        call waited for the GIL; docs/BENCHMARKS.md section 14). One read at a time; the
        latest run asked meanwhile is read next."""
        if not run_dir:
            return
        if self._asking:
            self._ask_next = run_dir
            return
        self._asking = run_then(self._on_facts, end_facts, run_dir)

    def _on_facts(self, result) -> None:
        """The pool's answer (GUI thread). A run no longer shown or selected is dropped."""
        self._asking = False
        after, self._ask_next = self._ask_next, None
        if result is not None:
            run_dir, resumable, bad_files = result
            if run_dir == self._show_bad_for == self.run_dir:
                self._show_bad_for = None
                show_bad_files(self.bad_files_label, run_dir, bad_files)
            if run_dir == self.state.run_dir and self._facts != (run_dir, resumable):
                self._facts = (run_dir, resumable)
                self._update_controls()   # asks once more: the same answer ends it
        if after:
            self._ask_facts(after)
