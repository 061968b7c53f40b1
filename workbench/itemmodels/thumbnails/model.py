"""The Dataset grid's list model over a ``DatasetIndex``: one item per sample that passes
the class/split filter (or a caller's order), its name, class, split, path, mark and
thumbnail. See the package's docstring (:mod:`workbench.itemmodels.thumbnails`) for why
only ``data()`` is Python."""
from __future__ import annotations

import os

import numpy as np
from PySide6.QtCore import QModelIndex, QStringListModel, Qt, Signal
from PySide6.QtGui import QColor, QPixmap

from training.data.index import SPLIT_NAMES
from training.data.pool import class_name
from workbench.itemmodels.thumbnails.tilecache import TileCache
from workbench.itemmodels.thumbnails.tiles import faded_tile
from workbench.itemmodels.thumbnails.warm import Warmer

ThumbnailRole = Qt.ItemDataRole.UserRole + 1
LabelRole = Qt.ItemDataRole.UserRole + 2      # class name
SplitRole = Qt.ItemDataRole.UserRole + 3      # split name
PathRole = Qt.ItemDataRole.UserRole + 4       # sample path ("<file>#<row>" for arrays)
SampleRole = Qt.ItemDataRole.UserRole + 5     # row number in the DatasetIndex

# Roles as plain ints, compared with the int a paint asks for: comparing against the enum
# members went through Python's enum machinery for every role of every painted item.
_DISPLAY, _EDIT = int(Qt.ItemDataRole.DisplayRole.value), int(Qt.ItemDataRole.EditRole.value)
_DECORATION = int(Qt.ItemDataRole.DecorationRole.value)
_FOREGROUND = int(Qt.ItemDataRole.ForegroundRole.value)
_TOOLTIP = int(Qt.ItemDataRole.ToolTipRole.value)
_ITEM_FLAGS = (Qt.ItemFlag.ItemIsSelectable | Qt.ItemFlag.ItemIsEnabled
               | Qt.ItemFlag.ItemNeverHasChildren)

_LOADED_ROLES = [Qt.ItemDataRole.DecorationRole, ThumbnailRole]


class ThumbnailModel(QStringListModel):
    """Items are the samples of ``index`` that pass the class/split filter.

    Signals:
        decodeFailed(path, reason): a file the index listed could not be decoded (found
            while making its thumbnail, so only for files scrolled into view).
    """

    decodeFailed = Signal(str, str)

    def __init__(self, parent=None, threads: int = 2):
        """``threads``: how many of the app pool's threads may decode at once."""
        super().__init__(parent)
        self._index = None
        self._rows = np.zeros(0, dtype=np.int64)
        self._paths: list[str] = []
        self._names: list[str] = []
        # The tiles and their decoding (workbench.itemmodels.thumbnails.tilecache); its
        # cache is the benches' to clear.
        self._tiles = TileCache(self, self._tile_changed, self.decodeFailed.emit, threads)
        self._cache = self._tiles.cache
        self._class_filter = -1
        self._split_filter = -1
        self._row_of_sample: dict[int, int] | None = None
        self._n = 0
        self._pool_start = 0   # sample numbers from here on: the unlabelled pool
        self._sample_of_path: dict[str, int] | None = None
        self._ordered = False  # _rows in a caller's order (set_order), not sorted
        self._extra_labels = self._extra_splits = np.zeros(0, np.int64)
        self._mark = None
        self._faded: dict[int, QPixmap] = {}
        # Tiles ahead of the scroll, in bounded slices (workbench.itemmodels.thumbnails.warm).
        self._warmer = Warmer(self, self._warm_row, lambda: len(self._rows))

    # -- setup ------------------------------------------------------------------------
    def set_index(self, index) -> None:
        """Show ``index`` (a ``DatasetIndex`` or None); forgets cached thumbnails.

        Images the label overlay excluded when the index was opened are kept as extra
        items after the index's rows (sample numbers ``len(index)`` on), shown only by
        ``set_filter(..., with_excluded=True)``, so they can be seen and restored. The
        unlabelled images (``index.unlabelled``) follow them (label -1, split -1): shown
        with every class and split, or alone with ``set_filter(unlabelled=True)``."""
        from training.data.overlay_apply import excluded_samples

        self._cancel_pending()
        self._index = index
        self._n = len(index) if index is not None else 0
        extra, self._extra_labels, self._extra_splits = (
            excluded_samples(index) if index is not None else ([], np.zeros(0, np.int64), np.zeros(0, np.int64)))
        pool = list(getattr(index, "unlabelled", None) or []) if index is not None else []
        self._pool_start = self._n + len(extra)
        self._extra_labels = np.concatenate([self._extra_labels, np.full(len(pool), -1, np.int64)])
        self._extra_splits = np.concatenate([self._extra_splits, np.full(len(pool), -1, np.int64)])
        self._sample_of_path = None
        self._ordered = False
        self._paths = list(index.paths) + extra + pool if index is not None else []
        self._names = (index.names() + [os.path.basename(p) for p in extra]
                       + index.unlabelled_names() if index is not None else [])
        self._faded.clear()
        self._tiles.set_source(index, self._paths)
        self._class_filter = self._split_filter = -1
        self._rows = (np.concatenate([np.arange(len(index), dtype=np.int64),
                                      np.arange(self._pool_start, len(self._paths), dtype=np.int64)])
                      if index is not None else np.zeros(0, dtype=np.int64))
        self._row_of_sample = None
        self.setStringList([self._names[i] for i in self._rows.tolist()] if len(self._rows) > self._n
                           else self._names[:self._n])   # resets the model: views re-read everything

    def set_filter(self, class_id: int = -1, split: int = -1, only_rows=None,
                   with_excluded: bool = False, unlabelled: bool = False) -> None:
        """Show only samples of ``class_id`` and/or ``split`` (-1: all), and of
        ``only_rows`` when given (e.g. the images whose label was changed); with
        ``with_excluded`` also the images the overlay excluded (see :meth:`set_index`).
        The unlabelled images show with every class and split, and alone with
        ``unlabelled`` (the other arguments are then ignored)."""
        if self._index is None:
            return
        self._cancel_pending()
        self._class_filter, self._split_filter = class_id, split
        self._ordered = False
        labels = np.concatenate([np.asarray(self._index.labels, np.int64), self._extra_labels])
        splits = np.concatenate([np.asarray(self._index.splits, np.int64), self._extra_splits])
        if unlabelled:
            self._rows = np.arange(self._pool_start, len(labels), dtype=np.int64)
            self._row_of_sample = None
            self.setStringList(self._names[self._pool_start:])
            return
        mask = np.ones(len(labels), dtype=bool)
        mask[self._n:self._pool_start] = with_excluded
        mask[self._pool_start:] = class_id < 0 and split < 0 and only_rows is None
        if class_id >= 0:
            mask &= labels == class_id
        if split >= 0:
            mask &= splits == split
        if only_rows is not None:
            keep = np.zeros(len(mask), dtype=bool)
            keep[np.asarray(only_rows, dtype=np.int64)] = True
            keep[self._n:self._pool_start] = True
            mask &= keep
        self._rows = np.flatnonzero(mask).astype(np.int64)
        self._row_of_sample = None
        names = self._names
        self.setStringList([names[i] for i in self._rows.tolist()])

    def set_order(self, samples) -> None:
        """Show exactly ``samples`` (sample numbers, see :meth:`sample_of`), in this order
        (a queue of images to label, best first)."""
        if self._index is None:
            return
        self._cancel_pending()
        self._rows = np.asarray(samples, dtype=np.int64).reshape(-1)
        self._ordered = True
        self._row_of_sample = None
        names = self._names
        self.setStringList([names[i] for i in self._rows.tolist()])

    def sample_of(self, path: str) -> int | None:
        """The sample number of ``path`` (an index row, an excluded or an unlabelled image)."""
        if self._sample_of_path is None:
            self._sample_of_path = {p: i for i, p in enumerate(self._paths)}
        return self._sample_of_path.get(path)

    def is_unlabelled(self, sample: int) -> bool:
        """Whether ``sample`` is one of the unlabelled images (as the index was opened)."""
        return sample >= self._pool_start

    def filter(self) -> tuple[int, int]:
        return self._class_filter, self._split_filter

    def sample_row(self, model_row: int) -> int:
        """The index row of a grid item; ``>= len(index)`` for an excluded or unlabelled image."""
        return int(self._rows[model_row])

    def model_row(self, sample: int) -> int | None:
        """The grid row showing ``sample``, or None when the filter hides it."""
        return self._model_row(sample)

    def set_marker(self, mark) -> None:
        """``mark(path) -> str`` is shown instead of an item's name when not empty
        (``"→ Coat"``, ``"excluded"``); an excluded item is drawn faded and grey."""
        self._mark = mark
        self.refresh_marks()

    def refresh_marks(self, paths=None) -> None:
        """Repaint the marks of ``paths`` (None: every item's) after a relabel, exclude,
        restore, undo. A few paths repaint a few items: labelling a key press at a time
        must not repaint the whole page."""
        if paths is not None and len(paths) <= 64:
            roles = [Qt.ItemDataRole.DisplayRole, Qt.ItemDataRole.DecorationRole,
                     Qt.ItemDataRole.ForegroundRole]
            for path in paths:
                sample = self.sample_of(path)
                self._faded.pop(sample, None)
                row = self._model_row(sample) if sample is not None else None
                if row is not None:
                    idx = self.index(row, 0)
                    self.dataChanged.emit(idx, idx, roles)
            return
        self._faded.clear()
        if self.rowCount():
            self.dataChanged.emit(self.index(0, 0), self.index(self.rowCount() - 1, 0),
                                  [Qt.ItemDataRole.DisplayRole, Qt.ItemDataRole.DecorationRole,
                                   Qt.ItemDataRole.ForegroundRole])

    def _label(self, sample: int) -> int:
        if sample >= self._n:
            return int(self._extra_labels[sample - self._n])
        return int(self._index.labels[sample])

    def _split(self, sample: int) -> int:
        if sample >= self._n:
            return int(self._extra_splits[sample - self._n])
        return int(self._index.splits[sample])

    def _mark_of(self, sample: int) -> str:
        return self._mark(self._paths[sample]) if self._mark is not None else ""

    # -- pending work / shutdown ---------------------------------------------------------
    def pending(self) -> bool:
        """True while requested thumbnails are still being decoded."""
        return self._tiles.pending()

    def shutdown(self, timeout_ms: int = 3000) -> None:
        self._warmer.clear()
        self._tiles.shutdown(timeout_ms)

    def _cancel_pending(self) -> None:
        # Queued decodes dropped; the running jobs' results are ignored.
        self._tiles.cancel()
        self._warmer.clear()

    # -- Qt model API (rowCount/index: QStringListModel's C++, see the module docstring) ----
    def flags(self, index: QModelIndex) -> Qt.ItemFlag:
        # Not QStringListModel's: items are neither editable nor draggable.
        if not index.isValid():
            return Qt.ItemFlag.NoItemFlags
        return _ITEM_FLAGS

    def multiData(self, index: QModelIndex, roles) -> None:
        """Every role a paint asks for, in one Python call.

        Qt 6's item delegates ask an item for ~14 roles at once through this method; the
        C++ default calls :meth:`data` once per role, each a call into Python that takes
        the GIL. Measured: 504 calls per page of thumbnails became 72.
        """
        data = self.data
        for i in range(len(roles)):
            slot = roles[i]
            value = data(index, slot.role())
            if value is None:
                slot.clearData()
            else:
                slot.setData(value)

    def data(self, index: QModelIndex, role: int = _DISPLAY):
        row = index.row()
        if self._index is None or not 0 <= row < len(self._rows):
            return None
        role = int(role)
        sample = int(self._rows[row])
        if role == _DECORATION:
            if not self._warmer.covers(row):
                self._warmer.around(row)   # after this paint: the tiles around it
            pix = self._tiles.thumbnail(sample, wait=True)
            return self._faded_pixmap(sample, pix) if self._mark_of(sample) == "excluded" else pix
        if role == ThumbnailRole:
            return self._tiles.thumbnail(sample, wait=False)
        if role == _DISPLAY or role == _EDIT:
            # A fix shows instead of the name (a caption holds ~12 characters; the name is
            # in the tooltip and the preview).
            mark = self._mark_of(sample) if role == _DISPLAY else ""
            return mark or self._names[sample]
        if role == _FOREGROUND:
            return QColor(140, 140, 140) if self._mark_of(sample) == "excluded" else None
        if role == LabelRole:
            return class_name(self._index.classes, self._label(sample))
        if role == SplitRole:
            split = self._split(sample)
            return SPLIT_NAMES[split] if split >= 0 else ""
        if role == PathRole:
            return self._paths[sample]
        if role == SampleRole:
            return sample
        if role == _TOOLTIP:
            label = class_name(self._index.classes, self._label(sample))
            split = self._split(sample)
            tip = f"{self._paths[sample]}\nclass: {label}" + (f" · {SPLIT_NAMES[split]}" if split >= 0 else "")
            mark = self._mark_of(sample)
            if mark == "excluded":
                tip += "\nexcluded from training (R or right-click → Restore brings it back)"
            elif mark:
                tip += f"\nlabel fix: {mark}"
            elif self._n <= sample < self._pool_start:
                tip += "\nrestored: it is used again from the next training"
            if sample in self._tiles.errors:
                tip += f"\ncannot show: {self._tiles.errors[sample]}"
            return tip
        return None

    def _faded_pixmap(self, sample: int, pix: QPixmap) -> QPixmap:
        """``pix`` washed out (an excluded image), cached until the marks change."""
        faded = self._faded.get(sample)
        if faded is None or pix is self._tiles.placeholder:
            faded = faded_tile(pix)
            if pix is not self._tiles.placeholder:
                self._faded[sample] = faded
        return faded

    # -- thumbnails ------------------------------------------------------------------------
    def _warm_row(self, row: int) -> None:
        """The Warmer's step: make the tile of the item at ``row`` (if it still exists)."""
        if 0 <= row < len(self._rows):
            self._tiles.warm(int(self._rows[row]))

    def _tile_changed(self, sample: int) -> None:
        """A sample's tile (or its error) arrived: its item repaints, if shown."""
        row = self._model_row(sample)
        if row is not None:
            idx = self.index(row, 0)
            self.dataChanged.emit(idx, idx, _LOADED_ROLES)

    def _model_row(self, sample: int) -> int | None:
        if self._ordered:   # a caller's order (set_order): looked up, not searched
            if self._row_of_sample is None:
                self._row_of_sample = {int(s): r for r, s in enumerate(self._rows.tolist())}
            return self._row_of_sample.get(sample)
        pos = int(np.searchsorted(self._rows, sample))  # _rows is sorted
        if pos < len(self._rows) and self._rows[pos] == sample:
            return pos
        return None
