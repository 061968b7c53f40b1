"""Opening a dataset on the Dataset panel: the Open dialogs, the index worker and its
progress, the questions a CSV may need (its columns, its images folder), a new split, and
the up-front image check that decodes every file once in the background.

``DatasetOpening`` is a part of ``DatasetPanel`` (``workbench/panels/dataset.py``, which
derives from it): apart from how an open dataset is shown, because opening is driven by
workers and their callbacks while showing follows the app state. It uses the panel's
widgets (``workbench/panels/dataset_layout.py``) and the job runners the panel makes.
"""
from __future__ import annotations

import logging
import os

from PySide6.QtCore import Slot
from PySide6.QtWidgets import QFileDialog

from training.data.csvsource import is_label_table, read_header
from training.data.kinds import OPEN_BY_KEY
from workbench.compute.requests import CheckImagesJob
from workbench.widgets.dataset_views import CsvColumnsDialog
from workbench.widgets.error_details import error_html
from workbench.workers.dataset import IndexWorker

log = logging.getLogger(__name__)


class DatasetOpening:
    """Opening, reopening with a new split, and checking a dataset's images."""

    @Slot(str)
    def open_dialog(self, kind: str = "folder") -> None:
        """Ask for a source of ``kind`` (``folder|csv|idx|npz``) and open it."""
        start = self.settings.last_folder("dataset")
        action = OPEN_BY_KEY.get(kind, OPEN_BY_KEY["npz"])
        if action.file_filter is None:
            path = QFileDialog.getExistingDirectory(self, action.title, start)
        else:
            path, _ = QFileDialog.getOpenFileName(self, action.title, start, action.file_filter)
            if action.open_parent and path:
                path = os.path.dirname(path)
        if path:
            self.open_path(path, action.kind)

    def open_path(self, path: str, kind: str = "auto", **options) -> bool:
        """Index ``path`` in a worker. CSVs with more than two columns ask which to use."""
        path = os.path.abspath(os.path.expanduser(str(path)))
        if (kind == "csv" or is_label_table(path)) and not options:
            try:
                columns = read_header(path)
            except OSError as exc:
                self._show_error(f"Cannot read {path}: {exc}")
                return False
            if len(columns) > 2:
                dialog = CsvColumnsDialog(path, columns, self)
                if dialog.exec() != CsvColumnsDialog.DialogCode.Accepted:
                    return False
                options = dialog.values()
        from training.data import DatasetSpec

        prev = self.state.dataset_spec
        spec = DatasetSpec(path=path, kind=kind, **options)
        if prev is not None and os.path.abspath(str(prev.path)) == path:
            spec.val_fraction, spec.test_fraction, spec.seed = (
                prev.val_fraction, prev.test_fraction, prev.seed)
        self._start_index(spec)
        # The folder around the dataset: the next Open dialog offers it and its neighbours.
        self.settings.set_last_folder("dataset", os.path.dirname(path.rstrip("/\\")) or path)
        return True

    @Slot(object)
    def _open_requested(self, what) -> None:
        """``state.datasetOpenRequested``: a path (kind detected) or a full DatasetSpec."""
        if isinstance(what, str):
            self.open_path(what)
        else:
            self.open_spec(what)

    def open_spec(self, spec) -> None:
        """Index a full ``DatasetSpec`` (split settings, CSV columns) in a worker; Cancel
        on the progress row stops it (used to reopen the last dataset on start)."""
        self._start_index(spec)

    def _start_index(self, spec) -> None:
        from workbench.workers.overlay_writer import flush

        flush()   # indexing reads the label overlay: every label given is in it first
        self.cancel()
        self.error_label.setVisible(False)
        self.progress.setRange(0, 0)
        self.progress.setFormat(f"Opening {spec.path}…")
        self.progress_row.setVisible(True)
        self._index.start(IndexWorker(spec), progress=self._on_progress, status=self._on_status,
                          finished=self._on_indexed, failed=self._on_index_failed,
                          done=self._on_index_done)

    @Slot()
    def cancel(self) -> None:
        """Cancel indexing (the previous dataset stays open) and the up-front image check."""
        self._index.cancel()
        self._check.cancel()
        self.progress_row.setVisible(False)

    def _on_progress(self, done: int, total: int, what: str) -> None:
        self.progress.setRange(0, max(total, 0))
        self.progress.setValue(done)
        self.progress.setFormat(f"{what} %v / %m")

    def _on_check_progress(self, done: int, total: int, what: str) -> None:
        if not self._index.current_busy():   # opening another dataset has the bar
            self._on_progress(done, total, what)

    def _on_status(self, message: str) -> None:
        self.progress.setFormat(message)
        self.state.statusMessage.emit(message)

    def _on_indexed(self, result) -> None:
        if result.get("ask_images"):
            self._ask_images_folder(result["spec"], result["ask_images"])
            return
        self.state.input_suggestion = result.get("suggestion")
        index = result["index"]
        self.settings.add_recent_dataset(str(result["spec"].path))
        self.start_page.set_recent(self.settings.recent_datasets())
        self.state.set_dataset(result["spec"], index)
        bad = f", {len(index.bad_files)} bad files" if index.bad_files else ""
        loose = f", {len(index.unlabelled):,} unlabelled" if index.unlabelled else ""
        self.state.statusMessage.emit(
            f"Opened {index.root}: {len(index):,} images, {len(index.classes)} classes{loose}{bad}")
        self._start_check(index)

    # -- the up-front image check ----------------------------------------------------------
    def _start_check(self, index) -> None:
        """Decode every file once in the background (fills the store, finds bad files)."""
        self._check.cancel()
        if index is None or index.arrays is not None or not len(index):
            return
        self._check.start(CheckImagesJob(index), progress=self._on_check_progress,
                          finished=self._on_checked, failed=self._on_check_failed,
                          done=self._on_check_done)

    def _on_checked(self, result) -> None:
        if result.get("index") is not self.state.dataset:
            return
        index = result["index"]
        self._checking = False
        self.refresh_bad_files()
        self._show_count(index)
        self.class_table.set_index(index)  # counts and splits without the bad files
        self.chart.set_counts(index.counts(), list(index.classes))
        n = len(result.get("bad") or [])
        self.state.statusMessage.emit(f"Checked {len(index):,} images: "
                                      + (f"{n} could not be decoded" if n else "all decode"))

    def _on_check_failed(self, message: str) -> None:
        log.warning("image check failed: %s", message)
        self._checking = False
        self._check_failed = True   # then the thumbnails' failures are the report's only source
        self.refresh_bad_files()

    def _on_check_done(self) -> None:
        if self._checking and self.state.dataset is not None:
            self._checking = False   # stopped before the end: what is known is what is shown
            self._show_count(self.state.dataset)
            self._update_badge()
        if not self._index.current_busy():
            self.progress_row.setVisible(False)

    def _ask_images_folder(self, spec, ask: dict) -> None:
        """No folder near the CSV holds its images: ask for it (and the columns), whatever
        the column count. Non-modal, so the window stays responsive."""
        import dataclasses

        if self.csv_dialog is not None:
            self.csv_dialog.deleteLater()
        dialog = CsvColumnsDialog(str(spec.path), ask["columns"], self, message=ask["message"],
                                  folder=ask.get("folder") or None)
        self.csv_dialog = dialog

        def accepted():
            self._start_index(dataclasses.replace(spec, **dialog.values()))

        dialog.accepted.connect(accepted)
        dialog.open()

    def _on_index_failed(self, message: str) -> None:
        self._show_error(message)

    def _on_index_done(self) -> None:
        self.progress_row.setVisible(self._check.current_busy())

    def _show_error(self, message: str) -> None:
        self.error_label.setText(error_html(f"Could not open the dataset: {message}", color=None))
        self.error_label.setVisible(True)
        self.state.statusMessage.emit(message.splitlines()[0] if message else "")

    def _resplit(self, val: float, test: float, seed: int) -> None:
        spec = self.state.dataset_spec
        if spec is None or self.state.dataset is None or self.state.dataset.has_source_split:
            return
        import dataclasses

        self._start_index(dataclasses.replace(spec, val_fraction=val, test_fraction=test, seed=seed))
