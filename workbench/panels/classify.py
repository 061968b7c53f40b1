"""The Classify panel: classify photos with a saved run (seed 002's app).

Pick a run, open photos or a folder (or drop them), and each photo gets its top-3
classes; select one to see it large with a probability chart and, optionally, the faces
OpenCV's Haar cascade finds in it. Prediction runs on a worker thread, in batches, with
progress and cancel; results export to CSV (``training.inference.predict.write_csv``).

The widgets and their layout are ``classify_layout.py``; the run picker (which model
answers) is ``classify_runs.py``'s ``RunPicker``, a base of the panel.
"""
from __future__ import annotations

import os

from PySide6.QtCore import Qt, Slot
from PySide6.QtGui import QColor, QIcon, QPixmap
from PySide6.QtWidgets import QFileDialog, QListWidgetItem, QWidget

from training.data.formats import IMAGE_FILE_FILTER
from workbench.appstate.settings import Settings
from workbench.compute.requests import PredictionJob
from workbench.panels.classify_layout import DROP_HINT, setup_ui
from workbench.panels.classify_runs import RunPicker, same_path
from workbench.widgets.error_details import error_html
from workbench.widgets.path_menu import install_path_menu
from workbench.workers.job_runner import JobRunner
from workbench.workers.qimages import image_to_qimage
from workbench.workers.run_watcher import RunWatcher, runs_root

ResultRole = Qt.ItemDataRole.UserRole + 1


def result_text(row: dict) -> str:
    """The list text of one result: file name and top-3 ``class p%`` lines."""
    name = os.path.basename(row.get("path", ""))
    if row.get("error"):
        return f"{name}\n{row['error']}"
    lines = [name] + [f"{c}: {p:.1%}" for c, p in (row.get("top_k") or [])[:3]]
    if row.get("unknown"):  # before the top-k: the answer is "unknown", the rest is context
        lines.insert(1, f"Unknown ({row.get('unknown_reason')})")
    if row.get("faces"):
        lines.append("Human face detected")
    return "\n".join(lines)


def _mark_unknown(item: QListWidgetItem, row: dict) -> None:
    """Unknown answers in amber, so they stand out from the answered ones."""
    if row.get("unknown"):
        item.setForeground(QColor("#8a5a00"))
    else:
        item.setData(Qt.ItemDataRole.ForegroundRole, None)  # the palette's colour


class ClassifyPanel(RunPicker, QWidget):
    """See module docstring."""

    title = "Classify"

    def __init__(self, state, parent=None):
        super().__init__(parent)
        self.state = state
        self.settings = Settings()        # the file dialogs' last folders
        self.results: list[dict] = []     # predict_paths rows (no thumbnails), for CSV
        self.bad: list[dict] = []
        self.classes: list[str] = []
        self._classes_run: str | None = None
        self._want_run: str | None = None  # the current run, to select once listed
        self._model_files: list[str] = []  # exported models chosen with "Model file…"
        self._inputs: list[str] = []       # the photos and folders given, to classify again
        self._predict = JobRunner(self)
        self._runs = JobRunner(self)
        self.setAcceptDrops(True)
        setup_ui(self)   # the widgets (workbench/panels/classify_layout.py)
        self._connect_views()
        state.runChanged.connect(self._on_run_changed)
        state.runsUpdated.connect(self.refresh_runs)
        # A run made, finished or evaluated by another process appears in the picker.
        self.watcher = RunWatcher(runs_root(), parent=self)
        self.watcher.runsChanged.connect(self.refresh_runs)
        self.watcher.runChanged.connect(self._on_run_files_changed)
        self.refresh_runs()

    def _connect_views(self) -> None:
        """What the widgets (``classify_layout.py``) do here."""
        self.run_combo.currentIndexChanged.connect(self._update_controls)
        self.list.currentItemChanged.connect(self._on_current)
        install_path_menu(self.list, self._path_at)
        self.coverage.coverageChanged.connect(self._on_coverage)
        self._show_lists()
        self._update_controls()

    # ----------------------------------------------------------------- public API
    def pending_work(self) -> bool:
        return (self._predict.busy() or self._runs.busy() or self.detail.pending_work()
                or self.similar.pending_work() or self.coverage.pending_work()
                or (self.sort_dialog is not None and self.sort_dialog.busy()))

    def shutdown(self) -> None:
        self.watcher.stop()
        if self.sort_dialog is not None:
            self.sort_dialog.shutdown()
        for part in (self._predict, self._runs, self.detail, self.coverage, self.similar):
            part.shutdown()

    def open_sort(self, source: str = "", dest: str = ""):
        """Open "Sort into folders…" for the chosen run (``classify_sort.SortDialog``);
        returns the dialog."""
        from workbench.panels.classify_sort import SortDialog

        run_dir = self.current_run() or self.state.run_dir
        if not run_dir:
            self.status.setText("Choose a run first: train a model in the Training panel.")
            return None
        if self.sort_dialog is not None and self.sort_dialog.run_dir != run_dir \
                and not self.sort_dialog.busy():   # another run: a fresh dialog
            self.sort_dialog.shutdown()
            self.sort_dialog.deleteLater()
            self.sort_dialog = None
        if self.sort_dialog is None:
            self.sort_dialog = SortDialog(run_dir, self.run_combo.currentText(), parent=self)
            self.sort_dialog.setWindowFlag(Qt.WindowType.Window)
            top = self.window()   # as large as the window allows, up to a comfortable size
            self.sort_dialog.resize(min(760, max(560, top.width() - 120)),
                                    min(720, max(480, top.height() - 60)))
        if source or dest:
            self.sort_dialog.set_folders(source, dest)
        self.sort_dialog.show()
        self.sort_dialog.raise_()
        return self.sort_dialog

    @Slot()
    def open_photos(self) -> None:
        paths, _ = QFileDialog.getOpenFileNames(self, "Open photos",
                                                self.settings.last_folder("photos"), IMAGE_FILE_FILTER)
        if paths:
            self.settings.set_last_folder("photos", paths[0])
            self.classify(paths)

    @Slot()
    def open_folder(self) -> None:
        folder = QFileDialog.getExistingDirectory(self, "Open a folder of photos",
                                                  self.settings.last_folder("photos"))
        if folder:
            # The folder that holds it: the next dialog offers its neighbours.
            self.settings.set_last_folder("photos", os.path.dirname(folder.rstrip("/\\")) or folder)
            self.classify([folder])

    def classify(self, paths: list[str]) -> None:
        """Classify files/folders with the selected run and add them to the list (photos
        already listed are not classified twice; Clear empties the list)."""
        # The runs combo fills from a background listing; until then the app's current
        # run is the one the user means.
        run_dir = self.current_run() or self.state.run_dir
        if not run_dir:
            self.status.setText("Choose a run first: train a model in the Training panel.")
            return
        if self._classes_run not in (None, run_dir):
            self._predict.cancel()   # another model: its results don't mix with these
            self._clear_lists()
        listed = {r.get("path") for r in self.results + self.bad}
        paths = [p for p in paths if os.path.isdir(p) or p not in listed]
        if not paths:
            self.status.setText("Those photos are already in the list.")
            return
        self._inputs += [p for p in paths if p not in self._inputs]
        self._show_lists()
        self.coverage.load_run(run_dir)
        worker = PredictionJob(run_dir, paths, top_k=3,
                                  detect_faces=self.faces_box.isChecked(),
                                  coverage=self.coverage.coverage())
        worker.results.connect(self._on_results)
        worker.classes.connect(self._on_classes)
        self.progress.setRange(0, 0)
        self._classes_run = run_dir
        self.detail.set_run(run_dir)
        self._predict.start(worker, finished=self._on_finished, failed=self._on_failed,
                            stopped=self._on_stopped, done=self._update_controls,
                            status=self.status.setText, progress=self._on_progress)
        self._update_controls()

    @Slot()
    def clear_results(self) -> None:
        """Empty the list of classified photos."""
        if self._predict.busy():
            return
        self._clear_lists()
        self._inputs, self._classes_run = [], None
        self.status.setText("")
        self._update_controls()

    def _clear_lists(self) -> None:
        self.results, self.bad = [], []
        self.list.clear()
        self.bad_list.clear()
        self.detail.clear()
        self._show_lists()

    def _follow_run(self) -> None:
        """The chosen run changed (here, or in another panel): the photos listed were
        answered by the previous model, so they are classified again with this one rather
        than shown under its name."""
        run = self.current_run()
        if not run or self._classes_run is None or same_path(self._classes_run, run):
            return
        inputs = list(self._inputs)
        self._predict.cancel()
        self._clear_lists()
        self._classes_run = None
        if inputs:
            self.classify(inputs)
            self.status.setText(f"Classifying the same photos again with "
                                f"{self.run_combo.currentText()}…")

    @Slot()
    def cancel(self) -> None:
        self._predict.request_stop()

    @Slot()
    def export_csv(self, path: str | None = None) -> None:
        """Write the results with ``training.inference.predict.write_csv`` (asks where, by default)."""
        if not (self.results or self.bad):
            return
        if not path:
            path, _ = QFileDialog.getSaveFileName(
                self, "Export results", os.path.join(self.settings.last_folder("csv"), "predictions.csv"),
                "CSV files (*.csv)")
            if path:
                self.settings.set_last_folder("csv", path)
        if not path:
            return
        from training.inference.predict import write_csv

        try:
            write_csv(self.results + self.bad, path, top_k=3)
        except OSError as exc:
            self.status.setText(f"Could not write {path}: {exc.strerror or exc}")
            return
        self.status.setText(f"Saved {len(self.results) + len(self.bad)} results to {path}")

    # ----------------------------------------------------------------- slots
    @Slot(list)
    def _on_classes(self, classes: list) -> None:
        self.classes = list(classes)

    @Slot(int, int, str)
    def _on_progress(self, done: int, total: int, _what: str) -> None:
        self.progress.setRange(0, max(1, total))
        self.progress.setValue(done)

    @Slot(int, list)
    def _on_results(self, job_id: int, rows: list) -> None:
        if not self._predict.is_current(job_id):
            return  # a cancelled job's late batch
        for row in rows:
            thumb = row.pop("thumb", None)
            plain = {k: row.get(k) for k in ("path", "top_k", "probabilities", "error", "faces",
                                             "unknown", "unknown_reason", "confidence",
                                             "distance", "appearance")}
            if row.get("error"):
                self.bad.append(plain)
                self.bad_list.addItem(f"{row.get('path')}: {row['error']}")
                continue
            self.results.append(plain)
            item = QListWidgetItem(result_text(row))
            if thumb is not None:
                item.setIcon(QIcon(QPixmap.fromImage(image_to_qimage(thumb))))
            else:
                blank = QPixmap(72, 72)
                blank.fill(QColor(235, 235, 235))
                item.setIcon(QIcon(blank))
            item.setData(ResultRole, row)
            _mark_unknown(item, row)
            item.setToolTip(row.get("path", ""))
            self.list.addItem(item)
        self._show_lists()
        if self.list.currentRow() < 0 and self.list.count():
            self.list.setCurrentRow(0)

    def _on_finished(self, count) -> None:
        msg = f"Classified {len(self.results)} photo(s)"
        if self.bad:
            msg += f"; {len(self.bad)} could not be read (listed below)"
        self.status.setText(msg)

    def _on_failed(self, message: str) -> None:
        self.status.setText(error_html(message))

    def _on_stopped(self) -> None:
        self.status.setText(f"Cancelled after {len(self.results) + len(self.bad)} photo(s).")

    def _path_at(self, pos) -> str | None:
        item = self.list.itemAt(pos)
        row = item.data(ResultRole) if item is not None else None
        return row.get("path") if isinstance(row, dict) else None

    @Slot(QListWidgetItem, QListWidgetItem)
    def _on_current(self, current, _previous) -> None:
        if current is None:
            return
        row = current.data(ResultRole)
        top = row.get("top_k") or []
        verdict = f"unknown ({row['unknown_reason']}); best guess " if row.get("unknown") else ""
        item = dict(row, caption=f"{os.path.basename(row.get('path', ''))}: {verdict}"
                    + (f"{top[0][0]} ({top[0][1]:.1%})" if top else "no prediction"))
        if not self.faces_box.isChecked():
            item["faces"] = None
        self.detail.show_item(item, self.classes, detect_faces=self.faces_box.isChecked())
        self.similar.set_photo(self._classes_run, row.get("path") if not row.get("error") else None)

    @Slot(float)
    def _on_coverage(self, _coverage: float) -> None:
        """The coverage control moved: decide "unknown" again for the photos shown (from
        their stored probabilities and distances; the model does not run again)."""
        from training.trust.unknown import decide_rows

        rule = self.coverage.current_rule()
        if rule is None:
            return
        rows = [self.list.item(i).data(ResultRole) for i in range(self.list.count())]
        decide_rows(rule, rows + self.results)
        for i, row in enumerate(rows):
            item = self.list.item(i)
            item.setData(ResultRole, row)
            item.setText(result_text(row))
            _mark_unknown(item, row)
        self._on_current(self.list.currentItem(), None)
        unknown = sum(1 for r in rows if r.get("unknown"))
        if rows:
            self.status.setText(f"{unknown} of {len(rows)} photo(s) answered “unknown” at "
                                f"{self.coverage.coverage():.0%} coverage")

    @Slot()
    def _update_controls(self) -> None:
        self._follow_run()
        busy = self._predict.current_busy()
        has_run = self.current_run() is not None
        self.coverage.load_run(self.current_run())  # its unknown rule (no-op for the same run)
        self.open_button.setEnabled(has_run and not busy)
        self.folder_button.setEnabled(has_run and not busy)
        self.sort_button.setEnabled(has_run)
        self.export_button.setEnabled(bool(self.results or self.bad) and not busy)
        self.clear_button.setEnabled(bool(self.results or self.bad) and not busy)
        self.cancel_button.setEnabled(busy)
        self.progress.setVisible(busy)
        self.cancel_button.setVisible(busy)
        if not has_run:
            self.empty.setText("No saved runs yet. Train a model in the Training panel, "
                               "then classify your photos here.")
        else:
            self.empty.setText(DROP_HINT)

    def _show_lists(self) -> None:
        has = self.list.count() > 0
        self.empty.setVisible(not has)
        self.list.setVisible(has)
        self.bad_label.setVisible(self.bad_list.count() > 0)
        self.bad_list.setVisible(self.bad_list.count() > 0)

    # ----------------------------------------------------------------- drag and drop
    def dragEnterEvent(self, event) -> None:
        if event.mimeData().hasUrls() and self.current_run():
            event.acceptProposedAction()

    def dropEvent(self, event) -> None:
        paths = [u.toLocalFile() for u in event.mimeData().urls() if u.isLocalFile()]
        if paths:
            self.classify(paths)
            event.acceptProposedAction()
