"""A thumbnail gallery of predictions (seed 004's sample / most-incorrect grids).

Each entry shows the image, its true and predicted labels and the probability, in green
when right and red when wrong. Thumbnails are decoded off the GUI thread
(:class:`~workbench.workers.gallery_images.ThumbnailWorker`); only the ``QPixmap`` is
made here, on the GUI thread.

The first ``FIRST_ROWS`` entries are made at once and the rest in slices of at most
``SLICE_S`` between other events: 200 entries took 15-30 ms in one go on the GUI thread
when a finished run's evaluation arrived (docs/BENCHMARKS.md section 14).

A hidden gallery decodes nothing: its thumbnails are decoded when it is shown
(:class:`~workbench.widgets.when_shown.WhenShown`), so a finished run's Results gallery
does not take pool threads while the user is on another panel.
"""
from __future__ import annotations

import time

from PySide6.QtCore import QSize, Qt, QTimer, Signal, Slot
from PySide6.QtGui import QBrush, QColor, QIcon, QPixmap
from PySide6.QtWidgets import (QLabel, QListView, QListWidget, QListWidgetItem,
                               QStackedLayout, QVBoxLayout, QWidget)

from workbench.workers.qimages import image_to_qimage
from workbench.widgets.path_menu import install_path_menu
from workbench.widgets.unknown_badge import SHORT_LINE, badged
from workbench.widgets.when_shown import WhenShown
from workbench.workers.gallery_images import ThumbnailWorker
from workbench.workers.job_runner import JobRunner

RIGHT = QColor(20, 120, 40)
WRONG = QColor(190, 30, 30)
_RIGHT_BG = QColor(225, 245, 228)
_WRONG_BG = QColor(252, 228, 228)
ItemRole = Qt.ItemDataRole.UserRole + 1
_DECODE = "decode"  # the WhenShown key of the thumbnails' decode
FIRST_ROWS = 24    # made at once: more than a gallery shows before it is scrolled
SLICE_S = 0.003    # the rest are made in slices of at most this long


def caption(item: dict) -> str:
    """The text under a thumbnail: true label, predicted label and probability (or the
    item's own ``lines``), and "unknown" when the item has an ``unknown_reason``."""
    if item.get("lines"):
        return "\n".join(item["lines"])
    lines = []
    if item.get("true") is not None:
        lines.append(f"True: {item['true']}")
    if item.get("pred") is not None:
        prob = item.get("prob")
        lines.append(f"Pred: {item['pred']}")
        if prob is not None:
            lines.append(f"p = {prob:.0%}")
    if item.get("unknown_reason"):
        if lines and lines[-1].startswith("p = "):
            lines[-1] += f" · {SHORT_LINE}"
        else:
            lines.append(SHORT_LINE)
    return "\n".join(lines)


def _tooltip(item: dict) -> str:
    reason = item.get("unknown_reason")
    return item.get("path", "") + (f"\nWould be answered unknown: {reason}" if reason else "")


class ImageGallery(QWidget):
    """Thumbnails with captions; emits ``itemSelected(dict)`` when one is clicked.

    Items are dicts with ``path``, ``true``, ``pred``, ``prob``, ``correct`` (bool or
    None) and whatever else the caller wants back in ``itemSelected``.
    """

    itemSelected = Signal(dict)

    def __init__(self, empty_hint: str = "Nothing to show yet", thumb_side: int = 88,
                 parent=None):
        super().__init__(parent)
        self.thumb_side = thumb_side
        self.items: list[dict] = []
        self._pixmaps: dict[int, QPixmap] = {}
        self._reasons: dict[int, str] = {}
        self._runner = JobRunner(self)
        # Work for this gallery's screen (its decode; companions such as the unknown
        # check add theirs with when_shown): started once the gallery is visible.
        self._when_shown = WhenShown(self)
        self._filler = QTimer(self)   # makes the entries past FIRST_ROWS, a slice a time
        self._filler.setSingleShot(True)
        self._filler.setInterval(0)
        self._filler.timeout.connect(self._fill)
        self._blank = QPixmap(thumb_side, thumb_side)
        self._blank.fill(QColor(235, 235, 235))
        self.list = QListWidget()
        self.list.setViewMode(QListView.ViewMode.IconMode)
        self.list.setResizeMode(QListView.ResizeMode.Adjust)
        self.list.setMovement(QListView.Movement.Static)
        self.list.setIconSize(QSize(thumb_side, thumb_side))
        # Three caption lines (true, predicted, probability): icon-mode items elide text
        # to about the icon's width, so the probability gets a line of its own.
        self.list.setGridSize(QSize(thumb_side + 56, thumb_side + 62))
        self.list.setWordWrap(False)
        self.list.setUniformItemSizes(True)
        self.list.currentItemChanged.connect(self._on_current)
        self.fixes = None  # a workbench.actions.fixes.LabelFixes once enable_fixes() is called
        install_path_menu(self.list, self._path_at, self._fix_menu)
        self.hint = QLabel(empty_hint)
        self.hint.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.hint.setWordWrap(True)
        self.hint.setStyleSheet("color: palette(mid); padding: 12px;")
        self._stack = QStackedLayout()
        self._stack.addWidget(self.hint)
        self._stack.addWidget(self.list)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addLayout(self._stack)

    def set_items(self, items: list[dict], dataset=None, empty_hint: str | None = None) -> None:
        """Show ``items`` (replacing the current ones) and decode their thumbnails (now if
        the gallery is visible, else when it is shown); the entries past ``FIRST_ROWS``
        follow in short slices (:meth:`pending_work` is True until they are all there)."""
        self._runner.cancel()
        self._when_shown.cancel()   # work waiting for the old items (decode, companions')
        self._filler.stop()
        self.items = list(items)
        self._pixmaps = {}  # decoded thumbnails by row, before any badge
        self._reasons = {}  # why a row's image could not be shown, by row
        self.list.clear()
        if empty_hint is not None:
            self.hint.setText(empty_hint)
        for row in range(min(FIRST_ROWS, len(self.items))):
            self._add_row(row)
        self._stack.setCurrentWidget(self.list if self.items else self.hint)
        if self.items:
            paths = [i.get("path", "") for i in self.items]
            self._when_shown.run(_DECODE, lambda: self._decode(paths, dataset))
            # Select the first image so the detail view and probability chart show
            # something useful straight away.
            self.list.setCurrentRow(0)
        if self.list.count() < len(self.items):
            self._filler.start()

    def _decode(self, paths: list[str], dataset) -> None:
        worker = ThumbnailWorker(paths, self.thumb_side, dataset)
        worker.thumbs.connect(self._on_thumbs)
        self._runner.start(worker)

    def when_shown(self, key: str, work) -> None:
        """Run ``work`` (a companion's job for these items, e.g. the unknown check) now if
        the gallery is visible, else when it is shown; new work under ``key`` replaces
        the waiting one, and new items (:meth:`set_items`) drop it."""
        self._when_shown.run(key, work)

    def showEvent(self, event) -> None:
        super().showEvent(event)
        self._when_shown.shown()

    @Slot()
    def _fill(self) -> None:
        """Make the next entries for at most ``SLICE_S``; again after other events."""
        deadline = time.perf_counter() + SLICE_S
        row = self.list.count()
        while row < len(self.items):
            self._add_row(row)
            row += 1
            if time.perf_counter() >= deadline:
                break
        if row < len(self.items):
            self._filler.start()

    def _add_row(self, row: int) -> None:
        """Append the entry of ``self.items[row]``, as it is now: its caption and fix mark,
        colours, and its thumbnail if that was decoded before the entry was made."""
        item = self.items[row]
        w = QListWidgetItem(QIcon(self._blank), self._text(item))
        w.setData(ItemRole, item)
        # Uniform item sizes take the first item's hint; make it the full cell so a
        # short first caption doesn't elide every longer one.
        w.setSizeHint(self.list.gridSize() - QSize(6, 6))
        w.setToolTip(_tooltip(item) + (f"\n{self._reasons[row]}" if row in self._reasons else ""))
        if item.get("correct") is not None:
            w.setForeground(QBrush(RIGHT if item["correct"] else WRONG))
            w.setBackground(QBrush(_RIGHT_BG if item["correct"] else _WRONG_BG))
        self.list.addItem(w)
        self._set_icon(row)

    def _text(self, item: dict) -> str:
        mark = self.fixes.mark(item.get("path", "")) if self.fixes is not None else ""
        return caption(item) + (f"\n{mark}" if mark else "")

    def enable_fixes(self, fixes) -> None:
        """Relabel/exclude/restore from this gallery: right-click menu and keys (digits,
        Delete, R; Enter accepts an item's ``suggested`` class) on the selected images;
        fixed images are marked in their caption."""
        from workbench.actions.fix_menu import install_fix_keys

        self.fixes = fixes
        self.list.setSelectionMode(QListView.SelectionMode.ExtendedSelection)
        side = self.thumb_side
        self.list.setGridSize(QSize(side + 56, side + 78))  # room for the fix mark line
        install_fix_keys(self.list, self.selected_paths, fixes, self.selected_suggestions)
        fixes.changed.connect(self._mark_fixes)

    def suggestions(self) -> dict[str, str]:
        """``{path: suggested class}`` of the shown items that carry a suggestion."""
        return {i["path"]: i["suggested"] for i in self.items if i.get("suggested") and i.get("path")}

    def selected_suggestions(self) -> dict[str, str]:
        shown = self.suggestions()
        return {p: shown[p] for p in self.selected_paths() if p in shown}

    def selected_paths(self) -> list[str]:
        items = self.list.selectedItems() or ([self.list.currentItem()] if self.list.currentItem() else [])
        return [i.data(ItemRole).get("path", "") for i in items if isinstance(i.data(ItemRole), dict)]

    def _fix_menu(self, menu, path: str) -> None:
        if self.fixes is None:
            return
        from workbench.actions.fix_menu import add_fix_actions

        paths = self.selected_paths()
        add_fix_actions(menu, paths if path in paths else [path], self.fixes, self.suggestions())

    @Slot()
    def _mark_fixes(self) -> None:
        if self.fixes is None:
            return
        for row, item in enumerate(self.items):
            w = self.list.item(row)
            if w is None:
                break   # not made yet: made with its mark
            w.setText(self._text(item))

    def _path_at(self, pos) -> str | None:
        item = self.list.itemAt(pos)
        data = item.data(ItemRole) if item is not None else None
        return data.get("path") if isinstance(data, dict) else None

    def clear(self, empty_hint: str | None = None) -> None:
        self.set_items([], empty_hint=empty_hint)

    def pending_work(self) -> bool:
        """True while thumbnails are decoded or entries made. A hidden gallery's decode
        is not pending work: nothing runs until it is shown (nobody waits on it)."""
        return (self._runner.busy() or self.list.count() < len(self.items)
                or (self._when_shown.waiting() and self.isVisible()))

    def decode_waiting(self) -> bool:
        """True while this gallery's thumbnails wait for it to be shown."""
        return self._when_shown.waiting(_DECODE)

    def shutdown(self) -> None:
        self._when_shown.cancel()
        self._filler.stop()
        self._runner.shutdown()

    @Slot(int, list)
    def _on_thumbs(self, job_id: int, chunk: list) -> None:
        if not self._runner.is_current(job_id):
            return
        for i, arr, reason in chunk:
            if not 0 <= i < len(self.items):
                continue
            # Kept for an entry not made yet too: _add_row shows it.
            if arr is not None:
                self._pixmaps[i] = QPixmap.fromImage(image_to_qimage(arr))
                self._set_icon(i)
            elif reason:
                self._reasons[i] = reason
                w = self.list.item(i)
                if w is not None:
                    w.setToolTip(f"{_tooltip(self.items[i])}\n{reason}")

    def update_items(self, updates: dict) -> None:
        """Merge ``{path: {field: value}}`` into the shown items (e.g. ``unknown_reason``
        once a worker has checked them) and refresh their captions, tooltips and badges."""
        for row, item in enumerate(self.items):
            extra = updates.get(item.get("path", ""))
            if not extra:
                continue
            item.update(extra)   # an entry not made yet is made from it
            w = self.list.item(row)
            if w is None:
                continue
            w.setData(ItemRole, item)
            w.setToolTip(_tooltip(item))
            self._set_icon(row)
        if self.fixes is not None:
            self._mark_fixes()  # the captions with their fix marks
        else:
            self._refresh_text()

    def _refresh_text(self) -> None:
        for row, item in enumerate(self.items):
            w = self.list.item(row)
            if w is not None:
                w.setText(caption(item))

    def _set_icon(self, row: int) -> None:
        pm, w = self._pixmaps.get(row), self.list.item(row)
        if pm is None or w is None:
            return
        w.setIcon(QIcon(badged(pm) if self.items[row].get("unknown_reason") else pm))

    @Slot(QListWidgetItem, QListWidgetItem)
    def _on_current(self, current, _previous) -> None:
        if current is not None:
            self.itemSelected.emit(current.data(ItemRole))
