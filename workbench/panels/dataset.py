"""The Dataset panel: open a source, see its classes, split, images and bad files.

Indexing runs in an :class:`~workbench.workers.dataset.IndexWorker` (progress, cancel);
thumbnails come from :class:`~workbench.itemmodels.thumbnails.ThumbnailModel`, decoded
off the GUI thread; the big preview is decoded by a ``PreviewWorker``.

This module shows an open dataset (header, counts, filters, bad files, preview) and holds
the panel's protocol; opening one is ``dataset_open.py`` (a base of the panel), the widgets
and their layout ``dataset_layout.py``.
"""
from __future__ import annotations

import logging
import os

from PySide6.QtCore import Slot
from PySide6.QtGui import QPixmap
from PySide6.QtWidgets import QWidget

from training.data.index import SPLIT_NAMES
from training.data.kinds import KIND_LABELS
from workbench.appstate.settings import Settings
from workbench.itemmodels.thumbnails import LabelRole, PathRole, SplitRole
from workbench.panels.dataset_layout import setup_ui
from workbench.panels.dataset_open import DatasetOpening
from workbench.widgets.dataset_views import CsvColumnsDialog
from workbench.widgets.wrap import human_size
from workbench.workers.dataset import PreviewWorker
from workbench.workers.job_runner import JobRunner
from workbench.workers.qimages import image_to_qimage

log = logging.getLogger(__name__)


class DatasetPanel(DatasetOpening, QWidget):
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
        # The chart (matplotlib: ~1 s to import) is made when the first dataset arrives,
        # so the start page shows without it; a blank widget holds its place until then.
        self._chart = None
        self._chart_slot = QWidget()
        setup_ui(self, self._chart_slot)   # the widgets (workbench/panels/dataset_layout.py)
        self._connect_views()
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


    def _connect_views(self) -> None:
        """What the views' signals do here (the layout connects only the panel's public
        slots)."""
        self.class_table.itemSelectionChanged.connect(self._class_row_selected)
        self.split_settings.changed.connect(self._resplit)
        self.thumbs.decodeFailed.connect(self._on_decode_failed)
        self.grid.selectionModel().currentChanged.connect(self._current_changed)

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

