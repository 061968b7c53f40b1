"""The Results panel: runs list and comparison, test metrics, confusion matrix, per-class
table, prediction galleries and a large view with class probabilities (seed 004).

Reading ``evaluation.json``, evaluating a run and decoding thumbnails all happen on
worker threads; the confusion matrix (~200 ms to draw) is drawn once per run load.
"""
from __future__ import annotations

import os
import time

from PySide6.QtCore import Qt, QTimer, Slot
from PySide6.QtWidgets import (QFrame, QHBoxLayout, QLabel, QPushButton, QScrollArea, QSplitter,
                               QTabWidget, QVBoxLayout, QWidget)

from training.runs.runfolder import RESULT_FILES
from workbench.charts.confusion import ConfusionChart
from workbench.panels.results_health import attach_health
from workbench.panels.results_map import MapTab
from workbench.panels.results_runs import RunsList
from workbench.panels.results_trust import TrustCharts, average_rows
from workbench.panels.results_evaluation import (CELL, GALLERY_LIMIT, MOST_INCORRECT, SAMPLE, GalleryBox,
                                                 PerClassTable, evaluation_html, gallery_item, gallery_records)
from workbench.panels.results_unknown import UnknownBadges
from workbench.widgets.error_details import error_html, offer_details
from workbench.widgets.image_detail import ImageDetail
from workbench.widgets.job_progress import JobProgressBar
from workbench.widgets.when_shown import WhenShown
from workbench.compute.requests import EvaluationJob
from workbench.workers.evaluation import EvaluationLoader
from workbench.workers.job_runner import JobRunner
from workbench.workers.run_watcher import RunWatcher, runs_root, same_path

# The gallery's names stay importable from here, where the panel's users found them.
__all__ = ["CELL", "GALLERY_LIMIT", "MOST_INCORRECT", "SAMPLE", "EMPTY_HINT", "ResultsPanel", "gallery_item"]
EMPTY_HINT = "Train a model to see results here, or pick a run in the list on the left."


class ResultsPanel(QWidget):
    """See module docstring."""

    title = "Results"

    def __init__(self, state, parent=None):
        super().__init__(parent)
        self.state = state
        self.run_dir: str | None = None
        self.run: dict = {}
        self.evaluation: dict | None = None
        self.classes: list[str] = []
        self.cell: tuple[int, int] | None = None
        self._loader = JobRunner(self)
        self._evaluator = JobRunner(self)
        self._cancel_at: float | None = None
        # Seconds from Cancel to the evaluation job's end (the core checks between batches).
        self.last_cancel_latency: float | None = None
        self._when_shown = WhenShown(self)   # the map's import waits for the panel's screen
        self._build()
        self._gallery_later = QTimer(self)   # see _show_evaluation
        self._gallery_later.setSingleShot(True)
        self._gallery_later.setInterval(0)
        self._gallery_later.timeout.connect(self._show_gallery)
        state.runChanged.connect(self._on_run_changed)
        state.runsUpdated.connect(self.runs.refresh)
        # Runs written by another process (a CLI or cluster run) refresh the list, and the
        # shown run refreshes when its files change, wherever it was trained.
        self.watcher = RunWatcher(runs_root(), parent=self)
        self.watcher.runsChanged.connect(self.runs.refresh)
        self.watcher.runChanged.connect(self._on_run_files_changed)
        self.runs.refresh()
        if state.run_dir:
            self.load_run(state.run_dir)

    # ----------------------------------------------------------------- layout
    def _build(self) -> None:
        self.runs = RunsList()
        self.runs.runActivated.connect(self._on_run_activated)
        self.runs.runDeleted.connect(
            lambda path: self.state.set_run(None) if self.state.run_dir == path else None)

        self.header = QLabel(EMPTY_HINT)
        self.header.setWordWrap(True)
        # Messages can be selected and copied (into a bug report, a search).
        self.header.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        offer_details(self.header)
        self.evaluate_button = QPushButton("Evaluate")
        self.evaluate_button.setToolTip("Evaluate this run's model on its test split")
        self.evaluate_button.clicked.connect(self._on_evaluate_clicked)
        self.evaluate_button.setEnabled(False)
        self.progress = JobProgressBar()
        self.progress.setMaximumWidth(220)
        self.progress.hide()
        self.export_button = QPushButton("Export model…")
        self.export_button.setToolTip("Export this run's model to SavedModel, ONNX and TFLite, "
                                      "each checked against the Keras model")
        self.export_button.clicked.connect(lambda: self.open_export_dialog())
        self.export_button.setEnabled(False)
        head = QHBoxLayout()
        head.addWidget(self.header, 1)
        head.addWidget(self.progress)
        head.addWidget(self.evaluate_button)
        head.addWidget(self.export_button)

        self.confusion = ConfusionChart()
        self.confusion.cellClicked.connect(self.show_cell)
        self.per_class = PerClassTable()
        self.chart_tabs = QTabWidget()
        self.chart_tabs.setDocumentMode(True)
        self.chart_tabs.addTab(self.confusion, "Confusion matrix")
        self.trust_charts = TrustCharts(self.chart_tabs)
        metrics = QSplitter(Qt.Orientation.Horizontal)
        metrics.addWidget(self.chart_tabs)
        metrics.addWidget(self.per_class)
        # Even shares: the matrix is square (its height limits it), the table needs its
        # five columns and the class names.
        metrics.setSizes([360, 360])
        metrics.setStretchFactor(0, 1)
        metrics.setStretchFactor(1, 1)

        gallery_box = GalleryBox(EMPTY_HINT)
        self.gallery_choice, self.gallery_note = gallery_box.choice, gallery_box.note
        self.gallery = gallery_box.gallery
        self.gallery_choice.currentIndexChanged.connect(self._show_gallery)
        self.gallery.itemSelected.connect(self._on_image_selected)

        # Each part keeps a readable minimum height (a matrix with its labels; the gallery
        # sets its own); below that the whole panel scrolls (see below).
        metrics.setMinimumHeight(230)
        center_split = QSplitter(Qt.Orientation.Vertical)
        center_split.addWidget(metrics)
        center_split.addWidget(gallery_box)
        center_split.setSizes([300, 230])
        center_split.setChildrenCollapsible(False)   # never below the minimums above
        center = QWidget()
        cv = QVBoxLayout(center)
        cv.setContentsMargins(0, 0, 0, 0)
        cv.addLayout(head)
        self.result_tabs, self.health = attach_health(self, center_split)
        self.map_tab = MapTab(self)   # the embedding map (issue 24)
        self.result_tabs.addTab(self.map_tab, "Map")
        # A tab widget does not pass its page's minimum up: say it, so the scroll area
        # below gives the matrix and the gallery their minimums instead of overlapping them.
        self.result_tabs.setMinimumHeight(metrics.minimumHeight() + gallery_box.minimumHeight()
                                          + self.result_tabs.tabBar().sizeHint().height() + 16)
        cv.addWidget(self.result_tabs, 1)

        self.detail = ImageDetail("Select an image in the gallery to see it large "
                                  "with all class probabilities")
        self.unknown_badges = UnknownBadges(self.gallery, self.detail, self)
        bottom = QSplitter(Qt.Orientation.Horizontal)
        bottom.addWidget(center)
        bottom.addWidget(self.detail)
        bottom.setSizes([820, 280])
        self.splitter = QSplitter(Qt.Orientation.Vertical)
        self.splitter.addWidget(self.runs)
        self.splitter.addWidget(bottom)
        self.splitter.setSizes([190, 600])
        self.splitter.setStretchFactor(1, 1)   # extra height goes to the results, not the list
        self.runs.setMinimumHeight(190)   # the Compare runs chart keeps its axis labels
        self.splitter.setChildrenCollapsible(False)
        # At 1024x640 the parts' minimum heights add up to more than the window has: the
        # panel scrolls vertically rather than cutting captions, rows and charts short
        # (issue 22 item 7). At 1920x1080 everything fits and nothing scrolls.
        self.scroll = QScrollArea()
        self.scroll.setWidgetResizable(True)
        self.scroll.setFrameShape(QFrame.Shape.NoFrame)
        self.scroll.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.scroll.setWidget(self.splitter)
        layout = QVBoxLayout(self)
        layout.addWidget(self.scroll)

    # ----------------------------------------------------------------- public API
    def pending_work(self) -> bool:
        return (self._loader.busy() or self._evaluator.busy() or self.runs.pending_work()
                or self._gallery_later.isActive()
                or self.gallery.pending_work() or self.detail.pending_work()
                or self.health.pending_work() or self._export_busy()
                or self.unknown_badges.pending_work() or self.map_tab.pending_work())

    def _export_busy(self) -> bool:
        dialog = getattr(self, "_export_dialog", None)
        try:
            return dialog is not None and dialog.busy()
        except RuntimeError:  # the dialog was closed and deleted
            return False

    def shutdown(self) -> None:
        dialog = getattr(self, "_export_dialog", None)
        if dialog is not None:
            try:
                dialog.shutdown()
            except RuntimeError:  # already closed and deleted
                pass
        self.watcher.stop()
        for part in (self._evaluator, self._loader, self.runs, self.gallery, self.detail,
                     self.health, self.confusion, self.trust_charts, self.unknown_badges,
                     self.map_tab):
            part.shutdown()

    def load_run(self, run_dir: str) -> None:
        """Show ``run_dir``: read its files and evaluation in the background."""
        if run_dir != self.run_dir:
            self.watcher.unwatch(self.run_dir or "")
            self.watcher.watch(run_dir)
        self.run_dir = run_dir
        self.detail.set_run(run_dir)
        self.health.set_run(run_dir)
        self.map_tab.set_run(run_dir)
        self._when_shown.run("map", self.map_tab.warm_up)
        self.evaluation = None
        self.header.setText(f"Loading {os.path.basename(run_dir)}…")
        self.evaluate_button.setEnabled(False)
        self.export_button.setEnabled(False)
        self.runs.select_run(run_dir)
        self._loader.start(EvaluationLoader(run_dir), finished=self._on_loaded,
                           failed=self._on_error)

    @Slot()
    def evaluate(self) -> None:
        """Evaluate the shown run (``training.inference.evaluate.evaluate``) in the background."""
        if not self.run_dir or self._evaluator.current_busy():
            return
        worker = EvaluationJob(self.run_dir)
        self.progress.setRange(0, 0)
        self.progress.show()
        self._cancel_at = None
        # While it runs the button cancels it (the core stops between prediction batches).
        self.evaluate_button.setText("Cancel evaluation")
        self.evaluate_button.setEnabled(True)
        self._evaluator.start(worker, finished=self._on_evaluated, failed=self._on_error,
                              stopped=self._on_evaluate_stopped, done=self._on_evaluate_done,
                              status=self._on_status, progress=self.progress.show_job)

    def open_export_dialog(self, run_dir: str | None = None):
        """The "Export model…" dialog for ``run_dir`` or the shown run (None without one)."""
        from workbench.widgets.export_dialog import ExportDialog

        run_dir = run_dir or self.run_dir
        if not run_dir:
            return None
        dialog = ExportDialog(run_dir, self)
        dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        self._export_dialog = dialog
        dialog.open()
        return dialog

    def is_evaluating(self) -> bool:
        return self._evaluator.current_busy()

    @Slot()
    def cancel_evaluation(self) -> None:
        """Stop the running evaluation; ``evaluation.json`` is left as it was."""
        if not self.is_evaluating() or self._cancel_at is not None:
            return
        self._cancel_at = time.monotonic()
        self.last_cancel_latency = None
        self._evaluator.request_stop()
        self.evaluate_button.setEnabled(False)
        self.evaluate_button.setText("Cancelling…")

    @Slot()
    def _on_evaluate_clicked(self) -> None:
        if self.is_evaluating():
            self.cancel_evaluation()
        else:
            self.evaluate()

    @Slot(int, int)
    def show_cell(self, true_index: int, pred_index: int) -> None:
        """Show the images of one confusion-matrix cell in the gallery."""
        self.cell = (true_index, pred_index)
        self.confusion.set_highlight(self.cell)
        if self.gallery_choice.currentIndex() == CELL:
            self._show_gallery()
        else:
            self.gallery_choice.setCurrentIndex(CELL)

    def showEvent(self, event) -> None:
        super().showEvent(event)
        self._when_shown.shown()

    # ----------------------------------------------------------------- slots
    @Slot(str)
    def _on_run_changed(self, run_dir: str) -> None:
        if run_dir and run_dir != self.run_dir:
            self.load_run(run_dir)

    @Slot(str, list)
    def _on_run_files_changed(self, run_dir: str, names: list) -> None:
        """The shown run changed on disk (finished, evaluated, resumed; here or in another
        process): read it again, keeping what is shown until the new files are read."""
        if (not self.run_dir or not same_path(run_dir, self.run_dir) or self.is_evaluating()
                or not set(names) & RESULT_FILES):
            return
        self._loader.start(EvaluationLoader(self.run_dir), finished=self._on_loaded,
                           failed=self._on_error)

    @Slot(str)
    def _on_run_activated(self, run_dir: str) -> None:
        if run_dir != self.run_dir:
            self.state.set_run(run_dir)   # the other panels follow (Classify, Training)

    @Slot(str)
    def _on_status(self, message: str) -> None:
        self.header.setText(message)

    @Slot(int, int, str)
    def _on_loaded(self, result: dict) -> None:
        if result.get("run_dir") != self.run_dir:
            return
        self.run = result.get("run") or {}
        self.classes = list(self.run.get("classes") or [])
        if result.get("error") and not self.run:
            self._on_error(result["error"])
            return
        self._show_evaluation(result.get("evaluation"), result.get("error"))

    def _on_evaluated(self, result: dict) -> None:
        if result.get("run_dir") == self.run_dir:
            self._show_evaluation(result.get("evaluation"))
            self.state.runsUpdated.emit()   # run.json now has the test accuracy

    def _on_evaluate_stopped(self) -> None:
        self.header.setText("Evaluation cancelled; the previous results (if any) are unchanged. "
                            "Press <b>Evaluate</b> to run it again.")

    def _on_evaluate_done(self) -> None:
        if self._cancel_at is not None:
            self.last_cancel_latency = time.monotonic() - self._cancel_at
        self._cancel_at = None
        self.progress.hide()
        self.evaluate_button.setText("Re-evaluate" if self.evaluation is not None else "Evaluate")
        self.evaluate_button.setEnabled(self.run_dir is not None)

    def _on_error(self, message: str) -> None:
        self.header.setText(error_html(message))
        self.evaluate_button.setEnabled(self.run_dir is not None)

    @Slot(dict)
    def _on_image_selected(self, item: dict) -> None:
        self.detail.show_item(item, self.classes, self.state.dataset)

    # ----------------------------------------------------------------- helpers
    def _show_evaluation(self, evaluation: dict | None, error: str | None = None) -> None:
        self.evaluation = evaluation
        self.export_button.setEnabled(self.run_dir is not None)
        self.cell = None
        run = self.run
        name = f"<b>{run.get('name', os.path.basename(self.run_dir or ''))}</b>"
        facts = [f"model {run.get('model', '?')}", f"status {run.get('status', '?')}",
                 f"{run.get('epochs_done', 0)} epochs"]
        if evaluation is None:
            self._gallery_later.stop()
            self.confusion.reset()
            self.trust_charts.reset()
            self.per_class.setRowCount(0)
            self.gallery.clear("This run has no evaluation yet: press Evaluate.")
            self.detail.clear()
            hint = error or "No evaluation yet: press <b>Evaluate</b> to test this run."
            self.header.setText(f"{name} · {' · '.join(facts)}<br>{hint}")
            self.evaluate_button.setText("Evaluate")
            self.evaluate_button.setEnabled(True)
            return
        self.classes = list(evaluation.get("classes") or self.classes)
        metrics, tooltip = evaluation_html(evaluation)
        self.header.setToolTip(tooltip)
        self.header.setText(f"{name} · {' · '.join(facts)}<br>{metrics}")
        self.evaluate_button.setText("Re-evaluate")
        self.evaluate_button.setEnabled(True)
        self.confusion.set_matrix(evaluation["confusion_matrix"], self.classes)
        self.confusion.set_highlight(self.cell)
        self.trust_charts.show_evaluation(evaluation)
        self.per_class.fill(list(evaluation.get("per_class") or []) + average_rows(evaluation))
        self.detail.clear()
        # With no wrong predictions the sample gallery is the informative one.
        wanted = MOST_INCORRECT if evaluation.get("most_incorrect") else SAMPLE
        self.gallery_choice.blockSignals(True)
        self.gallery_choice.setCurrentIndex(wanted)
        self.gallery_choice.blockSignals(False)
        # The gallery (and the image it selects) on a later pass of the event loop: with
        # the charts and tables above, a finished run's evaluation took 20-30 ms in one
        # callback on the GUI thread (docs/BENCHMARKS.md section 14).
        self._gallery_later.start()

    @Slot()
    def _show_gallery(self) -> None:
        ev = self.evaluation
        if ev is None:
            return
        records, hint, note = gallery_records(ev, self.gallery_choice.currentIndex(), self.cell,
                                              self.classes)
        if self.gallery_choice.currentIndex() == CELL and self.cell is None:
            self.gallery.clear(hint)
            self.gallery_note.setText("")
            return
        self.gallery_note.setText(note)
        items = [gallery_item(r, self.classes) for r in records]
        self.gallery.set_items(items, self.state.dataset, empty_hint=hint)
        self.unknown_badges.check(self.run_dir, items, self.state.dataset)
