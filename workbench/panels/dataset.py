"""The Dataset panel: open a source, see its classes, split, images and bad files.

Indexing runs in an :class:`~workbench.workers.dataset.IndexWorker` (progress, cancel);
thumbnails come from :class:`~workbench.itemmodels.thumbnails.ThumbnailModel`, decoded
off the GUI thread; the big preview is decoded by a ``PreviewWorker``.
"""
from __future__ import annotations

import logging
import os

from PySide6.QtCore import QSize, Qt, Slot
from PySide6.QtGui import QPixmap
from PySide6.QtWidgets import (QComboBox, QFileDialog, QHBoxLayout, QLabel, QListView,
                               QProgressBar, QPushButton, QSplitter, QStackedWidget,
                               QTabWidget, QVBoxLayout, QWidget)

from training.data.csvsource import is_label_table, read_header
from training.data.index import SPLIT_NAMES
from training.data.kinds import KIND_LABELS, OPEN_BY_KEY
from workbench.itemmodels.thumbnails import (THUMB, LabelRole, PathRole, SplitRole, ThumbnailModel,
                                            image_to_qimage)
from workbench.panels.start_page import StartPage
from workbench.appstate.settings import Settings
from workbench.widgets.dataset_views import (BadFilesModel, ClassTable, CsvColumnsDialog,
                                             PreviewPane, SplitSettings, bad_files_view)
from workbench.widgets.error_details import error_html, offer_details
from workbench.widgets.pinned_views import PinnedListView
from workbench.widgets.wrap import human_size
from workbench.workers.job_runner import JobRunner
from workbench.compute.requests import CheckImagesJob
from workbench.workers.dataset import IndexWorker, PreviewWorker

log = logging.getLogger(__name__)



class DatasetPanel(QWidget):
    title = "Dataset"

    def __init__(self, state, parent=None):
        super().__init__(parent)
        self.state = state
        self.settings = Settings()
        self._index = JobRunner(self)     # opening a dataset (a new one cancels the last)
        self._check = JobRunner(self)     # the up-front decode pass (bad files, store)
        self._preview = JobRunner(self)   # the large preview of the selected image
        self._preview_fields: list = []
        self._thumb_bad: list = []   # decode failures found while making thumbnails
        self._checking = False       # the background image check of the dataset runs
        self._check_failed = False   # ... or could not run (then thumbnails report failures)
        self.csv_dialog: CsvColumnsDialog | None = None   # open while asking for a CSV's folder
        self._build()
        state.datasetChanged.connect(self._on_dataset_changed)
        # Training decodes every image and adds the failures to the (shared) index's
        # bad_files; show them once it has finished.
        state.runsUpdated.connect(self.refresh_bad_files)
        # What the window asks of this panel (File menu, start page, other panels' links).
        state.datasetDialogRequested.connect(self.open_dialog)
        state.datasetOpenRequested.connect(self._open_requested)
        state.badFilesShown.connect(self.show_bad_files)
        state.settingsSaving.connect(self.save_settings)
        self.start_page.set_recent(self.settings.recent_datasets())
        for key, splitter in (("dataset/splitter", self.splitter),
                              ("dataset/left_splitter", self.left_splitter)):
            saved = self.settings.bytes_value(key)
            if saved is not None:
                splitter.restoreState(saved)

    # -- layout ------------------------------------------------------------------------------
    def _build(self) -> None:
        col = QVBoxLayout(self)
        col.setContentsMargins(8, 8, 8, 8)
        # Progress and errors are shown on both pages.
        bar = QHBoxLayout()
        self.progress = QProgressBar()
        self.progress.setTextVisible(True)
        self.cancel_button = QPushButton("Cancel")
        self.cancel_button.clicked.connect(self.cancel)
        bar.addWidget(self.progress, 1)
        bar.addWidget(self.cancel_button)
        self.progress_row = QWidget()
        self.progress_row.setLayout(bar)
        self.progress_row.setVisible(False)
        self.error_label = QLabel()
        self.error_label.setWordWrap(True)
        self.error_label.setStyleSheet("background:#fdecea;color:#8a1f11;padding:6px;border-radius:4px;")
        self.error_label.setVisible(False)
        self.error_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        offer_details(self.error_label)

        self.stack = QStackedWidget()
        self.start_page = StartPage()
        self.start_page.openRequested.connect(self.open_dialog)
        self.start_page.openPath.connect(lambda p: self.open_path(p))
        self.stack.addWidget(self.start_page)
        self.stack.addWidget(self._build_view())
        col.addWidget(self.error_label)
        col.addWidget(self.progress_row)
        col.addWidget(self.stack, 1)

    def _build_view(self) -> QWidget:
        view = QWidget()
        col = QVBoxLayout(view)
        col.setContentsMargins(0, 0, 0, 0)
        header = self.header = QHBoxLayout()
        self.name_label = QLabel()
        self.name_label.setStyleSheet("font-size: 15pt; font-weight: 600;")
        self.info_label = QLabel()
        self.info_label.setStyleSheet("color: #555;")
        # Wraps rather than widening the window ("… · 226 unlabelled" with "checking…").
        self.info_label.setWordWrap(True)
        self.bad_badge = QPushButton()
        self.bad_badge.setFlat(True)
        self.bad_badge.setCursor(Qt.CursorShape.PointingHandCursor)
        self.bad_badge.clicked.connect(lambda: self.tabs.setCurrentIndex(1))
        open_button = QPushButton("Open another…")
        open_button.clicked.connect(lambda: self.open_dialog("folder"))
        header.addWidget(self.name_label)
        header.addWidget(self.info_label, 1)   # takes the room; wraps only when short of it
        header.addWidget(self.bad_badge)
        header.addWidget(open_button)
        col.addLayout(header)
        # Shown when the largest class is > 3x the smallest (training.recipe.config.imbalance_warning).
        self.imbalance_label = QLabel()
        self.imbalance_label.setWordWrap(True)
        self.imbalance_label.setStyleSheet("color: #8a5a00; background: #fff4d6; padding: 4px;")
        self.imbalance_label.hide()
        col.addWidget(self.imbalance_label)
        from workbench.panels.dataset_fixes import foreign_labels_banner

        self.foreign_banner = foreign_labels_banner(self)  # label fixes made elsewhere: asks
        col.addWidget(self.foreign_banner)

        self.splitter = QSplitter(Qt.Orientation.Horizontal)
        self.left_splitter = QSplitter(Qt.Orientation.Vertical)
        self.class_table = ClassTable()
        self.class_table.itemSelectionChanged.connect(self._class_row_selected)
        # The chart (matplotlib: ~1 s to import) is made when the first dataset arrives,
        # so the start page shows without it; a blank widget holds its place until then.
        self._chart = None
        self._chart_slot = QWidget()
        self.split_settings = SplitSettings()
        self.split_settings.changed.connect(self._resplit)
        self.left_splitter.addWidget(self.class_table)
        self.left_splitter.addWidget(self._chart_slot)
        self.left_splitter.addWidget(self.split_settings)
        self.left_splitter.setSizes([220, 300, 120])

        center = QWidget()
        ccol = QVBoxLayout(center)
        ccol.setContentsMargins(0, 0, 0, 0)
        filters = QHBoxLayout()
        self.class_filter = QComboBox()
        # Not AdjustToContents: a long class name must not push the window past 1024 px.
        self.class_filter.setSizeAdjustPolicy(
            QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon)
        self.class_filter.setMinimumContentsLength(8)
        self.split_filter = QComboBox()
        self.split_filter.addItems(["All splits"] + list(SPLIT_NAMES))
        self.class_filter.currentIndexChanged.connect(self.apply_filter)
        self.split_filter.currentIndexChanged.connect(self.apply_filter)
        self.shown_label = QLabel()
        self.shown_label.setStyleSheet("color: #555;")
        filters.addWidget(QLabel("Class"))
        filters.addWidget(self.class_filter, 1)
        filters.addWidget(QLabel("Split"))
        filters.addWidget(self.split_filter)
        ccol.addLayout(filters)
        self.thumbs = ThumbnailModel(self)
        self.thumbs.decodeFailed.connect(self._on_decode_failed)
        self.grid = PinnedListView()
        self.grid.setViewMode(QListView.ViewMode.IconMode)
        self.grid.setUniformItemSizes(True)   # the view asks only the first item's size
        self.grid.setLayoutMode(QListView.LayoutMode.Batched)
        self.grid.setBatchSize(2000)
        self.grid.setMovement(QListView.Movement.Static)
        self.grid.setResizeMode(QListView.ResizeMode.Adjust)
        self.grid.setIconSize(QSize(THUMB, THUMB))
        self.grid.setGridSize(QSize(THUMB + 16, THUMB + 24))
        self.grid.setTextElideMode(Qt.TextElideMode.ElideMiddle)
        self.grid.setModel(self.thumbs)
        # Several images at once: labelling gives them all a class (issue 23).
        self.grid.setSelectionMode(QListView.SelectionMode.ExtendedSelection)
        self.grid.selectionModel().currentChanged.connect(self._current_changed)
        self.bad_model = BadFilesModel(self)
        self.bad_view = bad_files_view(self.bad_model)
        self.tabs = QTabWidget()
        self.tabs.addTab(self.grid, "Images")
        self.tabs.addTab(self.bad_view, "Bad files")
        # Beside the tabs, not in the filter row: that row must fit a 1024 px window.
        self.shown_label.setContentsMargins(0, 0, 6, 0)
        self.tabs.setCornerWidget(self.shown_label, Qt.Corner.TopRightCorner)
        ccol.addWidget(self.tabs, 1)
        from workbench.panels.dataset_fixes import attach_fixes

        # label fixes: count, "Changed only", grid menu and keys
        self.changed_filter, self.fix_label = attach_fixes(self, filters)
        from workbench.panels.dataset_labelling import LabellingView

        # unlabelled images, the class list and the keys (issue 23); its API: the module
        self.labelling = LabellingView(self, self.header, ccol)
        from workbench.panels.dataset_label_next import LabelNext

        self.label_next = LabelNext(self, self.labelling)   # active learning (issue 23)

        self.preview = PreviewPane()
        self.splitter.addWidget(self.left_splitter)
        self.splitter.addWidget(center)
        self.splitter.addWidget(self.preview)
        self.splitter.setStretchFactor(1, 1)
        self.splitter.setSizes([380, 560, 280])
        col.addWidget(self.splitter, 1)
        return view

    # -- opening -------------------------------------------------------------------------------
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

    # -- showing -----------------------------------------------------------------------------
    @Slot()
    def _on_dataset_changed(self) -> None:
        index = self.state.dataset
        self.thumbs.set_index(index)
        self.preview.clear()
        if index is None:
            self.stack.setCurrentIndex(0)
            return
        self.stack.setCurrentIndex(1)
        self.name_label.setText(os.path.basename(index.root.rstrip("/\\")) or index.root)
        self.name_label.setToolTip(index.root)
        # Files are checked (decoded once) in the background when the dataset has files:
        # until then counts and the bad-file badge are provisional, and say so.
        self._checking = index.arrays is None and len(index) > 0
        self._check_failed = False
        self._show_count(index)
        self._thumb_bad = []
        self.refresh_bad_files()
        self.class_table.set_index(index)
        self.chart.set_counts(index.counts(), list(index.classes))
        self._show_imbalance(index)
        spec = self.state.dataset_spec
        self.split_settings.set_values(getattr(spec, "val_fraction", 0.1),
                                       getattr(spec, "test_fraction", 0.1),
                                       getattr(spec, "seed", 42), index.has_source_split)
        self.class_filter.blockSignals(True)
        self.split_filter.blockSignals(True)
        self._fill_class_filter(index)
        self.split_filter.setCurrentIndex(0)
        self.class_filter.blockSignals(False)
        self.split_filter.blockSignals(False)
        self._update_shown()
        self._select_first()
        self.label_next.dataset_changed()
        self.labelling.dataset_changed()

    def _fill_class_filter(self, index) -> None:
        """"All classes", each class, and "Unlabelled (N)" when the dataset has any."""
        self.class_filter.clear()
        self.class_filter.addItems(["All classes"] + list(index.classes))
        if index.unlabelled:
            self.class_filter.addItem(f"Unlabelled ({len(index.unlabelled):,})")

    def classes_edited(self) -> None:
        """A class was added or renamed in the open dataset (the labelling view): the class
        table, the chart, the header and the class filter follow."""
        index = self.state.dataset
        if index is None:
            return
        chosen = self.class_filter.currentIndex()
        self.class_filter.blockSignals(True)
        self._fill_class_filter(index)
        self.class_filter.setCurrentIndex(min(chosen, self.class_filter.count() - 1))
        self.class_filter.blockSignals(False)
        self.class_table.set_index(index)
        self.chart.set_counts(index.counts(), list(index.classes))
        self._show_count(index)

    def _show_imbalance(self, index) -> None:
        from training.recipe.config import imbalance_warning

        counts = index.counts()
        text = imbalance_warning(counts.get("train") or {})
        self.imbalance_label.setText(text or "")
        self.imbalance_label.setVisible(bool(text))

    def _select_first(self) -> None:
        # Show something in the preview right away instead of an empty pane.
        if self.thumbs.rowCount():
            self.grid.setCurrentIndex(self.thumbs.index(0, 0))

    def _show_count(self, index) -> None:
        """The header's image count: the images that train (every split, bad files left
        out), the same number the class table totals."""
        usable = sum(sum(per_class.values()) for per_class in index.counts().values())
        checking = " (checking…)" if self._checking else ""
        loose = f" · {len(index.unlabelled):,} unlabelled" if index.unlabelled else ""
        kind = KIND_LABELS.get(index.kind, index.kind)
        if index.kind == "folders" and not (index.source_classes if index.source_classes is not None
                                            else index.classes):
            kind = "folder of images"   # loose images, no class folders (issue 23)
        self.info_label.setText(f"{kind} · {usable:,} images"
                                f"{checking} · {len(index.classes)} classes{loose}")
        self.info_label.setToolTip(f"{usable:,} usable images; {len(index.bad_files)} files "
                                   "could not be used (Bad files tab)")

    def _update_badge(self) -> None:
        n_bad = self.bad_model.rowCount()
        checking = getattr(self, "_checking", False)
        self.bad_badge.setText(f"{n_bad} bad file{'s' if n_bad != 1 else ''}"
                               + (", checking…" if checking else ""))
        self.bad_badge.setStyleSheet(
            "QPushButton{background:%s;color:white;border-radius:9px;padding:2px 10px;font-weight:600;}"
            % ("#7f8c8d" if checking else "#c0392b" if n_bad else "#2e7d32"))
        self.bad_badge.setToolTip("Checking every image in the background; the count is final "
                                  "when it ends" if checking else
                                  "Show the bad-file report" if n_bad else "No bad files")
        self.tabs.setTabText(1, f"Bad files ({n_bad})")

    @Slot(str, str)
    def _on_decode_failed(self, path: str, reason: str) -> None:
        # The background check (the core's decoder, as training reads) is what the report
        # and the counts follow: a file is either used or reported, never both. A thumbnail
        # failure is reported only when that check could not run.
        from training.data import BadFile

        if not self._check_failed:
            log.info("thumbnail of %s failed: %s", path, reason)
            return
        bad = BadFile(path, reason)
        self._thumb_bad.append(bad)
        self.bad_model.add_bad_file(bad)
        self._update_badge()

    @Slot()
    def refresh_bad_files(self) -> None:
        """Show the index's bad-file report (indexing + decoding, the core's reasons), plus
        the thumbnail failures it doesn't have yet: one row per file."""
        index = self.state.dataset
        if index is None:
            return
        rows = list(index.bad_files)
        known = {b.path for b in rows}
        rows += [b for b in self._thumb_bad if b.path not in known]
        self.bad_model.set_bad_files(rows)
        self._update_badge()

    @Slot()
    def apply_filter(self) -> None:
        """Show the grid's images that pass the class, split and "Changed only" filters."""
        only = None
        if self.changed_filter.isChecked() and self.state.dataset is not None:
            from workbench.panels.dataset_fixes import changed_only_rows

            only = changed_only_rows(self.state)
        index = self.state.dataset
        chosen = self.class_filter.currentIndex() - 1
        unlabelled = index is not None and chosen == len(index.classes)
        self.thumbs.set_filter(-1 if unlabelled else chosen,
                               self.split_filter.currentIndex() - 1, only_rows=only,
                               with_excluded=only is not None, unlabelled=unlabelled)
        self._update_shown()
        self._select_first()

    def set_filter(self, class_name: str | None = None, split: str | None = None) -> None:
        """Show only one class and/or split (None: all)."""
        index = self.state.dataset
        if index is None:
            return
        self.class_filter.setCurrentIndex(index.classes.index(class_name) + 1 if class_name else 0)
        self.split_filter.setCurrentIndex(SPLIT_NAMES.index(split) + 1 if split else 0)

    def _class_row_selected(self) -> None:
        rows = self.class_table.selectionModel().selectedRows()
        if rows:
            self.class_filter.setCurrentIndex(rows[0].row() + 1)

    def _update_shown(self) -> None:
        index = self.state.dataset
        total = len(index) + len(index.unlabelled) if index is not None else 0
        self.shown_label.setText(f"{self.thumbs.rowCount():,} of {total:,} images")

    def update_shown(self) -> None:
        """Say how many images the grid shows (after another part changed its filter)."""
        self._update_shown()

    def _current_changed(self, current, _previous=None) -> None:
        index = self.state.dataset
        if index is None or not current.isValid():
            return
        sample = self.thumbs.sample_row(current.row())
        # From the model: an image the label overlay excluded is an item but not an index row.
        label, split, path = current.data(LabelRole), current.data(SplitRole), current.data(PathRole)
        if index.arrays is not None and sample < len(index):
            arr = index.arrays[sample]
            pix = QPixmap.fromImage(image_to_qimage(arr))
            self.preview.show_sample(pix, [("File", path), ("Pixels", f"{arr.shape[1]} × {arr.shape[0]}"),
                                           ("Stored", "in memory (array source)"),
                                           ("Label", label), ("Split", split)])
            return
        fields = [("File", os.path.basename(path)), ("Folder", os.path.dirname(path)),
                  ("Label", label)] + ([("Split", split)] if split else [])
        self._preview_fields = fields
        ahead = self.labelling.preview_for(path, current.row())
        if ahead is not None:   # decoded ahead while labelling (or its thumbnail for now)
            self._preview.cancel()
            self.show_preview(ahead)
            return
        self.preview.show_sample(None, fields)
        self._preview.start(PreviewWorker(path, self.labelling.preview_box()),
                            finished=self._on_preview)

    def _on_preview(self, result: dict) -> None:
        self.labelling.keep_preview(result)
        self.show_preview(result)

    def show_preview(self, result: dict) -> None:
        """Show a ``preview_data`` result (or a stand-in ``pixmap``) for the current image."""
        fields = self._preview_fields
        extra = []
        if result.get("width"):
            extra.append(("Pixels", f"{result['width']} × {result['height']}"))
        if result.get("bytes") is not None:
            extra.append(("File size", human_size(result["bytes"])))
        image, pix, qimage = result.get("image"), result.get("pixmap"), result.get("qimage")
        if qimage is not None:   # made (and scaled to fit) on the pool thread
            pix = QPixmap.fromImage(qimage)
        elif image is not None:
            pix = QPixmap.fromImage(image_to_qimage(image))
        self.preview.show_sample(pix, fields[:1] + extra + fields[1:], result.get("error", ""))

    # -- panel protocol ---------------------------------------------------------------------------
    @property
    def chart(self):
        """The class-distribution chart, created on first use."""
        if self._chart is None:
            from workbench.charts.distribution import DistributionChart

            self._chart = DistributionChart(width=4, height=3)
            self.left_splitter.replaceWidget(self.left_splitter.indexOf(self._chart_slot),
                                             self._chart)
            self._chart_slot.deleteLater()
        return self._chart

    def pending_work(self) -> bool:
        return (self._index.current_busy() or self._preview.current_busy()
                or self._check.current_busy() or self.thumbs.pending()
                or self.labelling.pending() or self.label_next.busy())

    @Slot()
    def show_bad_files(self) -> None:
        """Switch to the Bad files tab (the report of files that could not be used)."""
        self.tabs.setCurrentWidget(self.bad_view)

    @Slot()
    def save_settings(self) -> None:
        self.settings.set_value("dataset/splitter", self.splitter.saveState())
        self.settings.set_value("dataset/left_splitter", self.left_splitter.saveState())

    def shutdown(self) -> None:
        self.save_settings()
        for runner in (self._index, self._check, self._preview):
            runner.shutdown()
        self.thumbs.shutdown()
        self.labelling.shutdown()
        self.label_next.shutdown()
        if self._chart is not None:
            self._chart.shutdown()
