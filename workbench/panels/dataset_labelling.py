"""The Dataset panel's labelling view (issue 23): give unlabelled images a class with a key.

"Label images" (a toggle in the panel's filter row) shows the unlabelled images in the
thumbnail grid and, in place of the class table, the class list (:class:`ClassList`: each
class with its key, Add class… / Rename… / Delete). A digit key gives the selected images
the class it stands for (``workbench.actions.fixes.class_keys``: the class named by the
digit when there is one, else by position), the next unlabelled image is selected and its
preview, decoded ahead on the app's pool (:class:`NextPreviews`), is shown at once (with
a key held down on photos that decode slower than the key repeats: the grid's thumbnail,
then the sharp preview).
Labels are label fixes (``LabelFixes``: the overlay beside the dataset, Ctrl+Z undoes);
the files are never touched. The class list's buttons are :class:`ClassEditor`
(``dataset_labelling_classes``), the line above the grid :class:`LabellingHint`
(``dataset_labelling_hint``).

The API other parts of the app use (the "Label next" queue of active learning)::

    view = dataset_panel.labelling
    view.set_queue([{"path": p, "suggested": "cat", "score": 0.83}, …])  # best first
    view.set_active(True)            # the grid shows exactly the queue, in that order
    view.labelled.connect(slot)      # (paths, class) after each label given here
    view.queueUsedUp.connect(slot)   # a key left no image of the queue to label: set_queue
                                     # more (or clear_queue) in the slot, it is selected
    view.set_note("…")               # a line the hint starts with (None: none)
    view.clear_queue()               # back to every unlabelled image

A queue item's suggestion shows on its caption (``cat? 83%``); Enter accepts the
suggestions of the selected images (one undo step). ``suggested`` and ``score`` may be
None. Paths must be images of the open dataset (labelled or not).
"""
from __future__ import annotations

import collections
import logging

from PySide6.QtCore import QEvent, QItemSelectionModel, QObject, Qt, QTimer, Signal, Slot
from PySide6.QtWidgets import QPushButton

from workbench.actions.fixes import class_keys, fixes_for
from workbench.itemmodels.thumbnails import PathRole
from workbench.panels.dataset_labelling_classes import ClassEditor
from workbench.panels.dataset_labelling_hint import LabellingHint
from workbench.panels.dataset_labelling_previews import NextPreviews
from workbench.widgets.class_list import ClassList

log = logging.getLogger(__name__)


class LabellingView(QObject):
    """The labelling mode of one Dataset panel (see the module docstring).

    Signals:
        labelled(list, str): paths given a class here (by key, double-click or Enter).
        activeChanged(bool): the labelling mode was switched on or off.
        queueUsedUp(): no image of the queue is left to label; emitted (connected directly)
            while the key that labelled the last one is handled, so that what the slot
            shows is selected by that key.
    """

    labelled = Signal(list, str)
    activeChanged = Signal(bool)
    queueUsedUp = Signal()

    def __init__(self, panel, header_layout, center_layout):
        super().__init__(panel)
        self.panel, self.state = panel, panel.state
        self.fixes = fixes_for(panel.state)
        self._active = False
        self._queue: list[dict] | None = None
        self._upcoming: tuple[str, ...] = ()
        self._suggested: dict[str, tuple] = {}
        self._classes_seen: list[str] = []
        self._topping_up = False
        self.next = NextPreviews(self)   # previews ahead: cleared with the dataset
        self.toggle = QPushButton("Label images")
        self.toggle.setCheckable(True)
        self.toggle.setToolTip("Show the unlabelled images and give them a class with a key")
        self.toggle.toggled.connect(self.set_active)
        # In the header, before "Open another…": the filter row must fit a 1024 px window.
        header_layout.insertWidget(header_layout.count() - 1, self.toggle)
        self.hint = LabellingHint()
        center_layout.insertWidget(1, self.hint)
        self.class_list = ClassList()
        self.class_list.hide()
        panel.left_splitter.insertWidget(0, self.class_list)
        self.classes = ClassEditor(self)   # the class list's Add class… / Rename… / Delete
        self.class_list.classActivated.connect(self.label_selected)
        panel.thumbs.set_marker(self._mark)
        panel.grid.installEventFilter(self)   # after the fix keys: this filter runs first
        self.fixes.changed.connect(self._on_fixes_changed)
        # The class counts and the hint follow a label in the next turn of the event loop,
        # after the next image is painted (a key press must show it within 50 ms).
        self._refresh_timer = QTimer(self)
        self._refresh_timer.setSingleShot(True)
        self._refresh_timer.setInterval(0)
        self._refresh_timer.timeout.connect(self._refresh_now)
        # The panel calls dataset_changed() once its grid shows the new dataset.

    # -- the API ---------------------------------------------------------------------
    def is_active(self) -> bool:
        return self._active

    @Slot(bool)
    def set_active(self, on: bool) -> None:
        """Switch the labelling mode on (unlabelled images or the queue) or off."""
        on = bool(on) and self.state.dataset is not None
        if self.toggle.isChecked() != on:
            self.toggle.setChecked(on)   # comes back here through toggled
            return
        changed = on != self._active
        self._active = on
        self.class_list.setVisible(on)
        # The class list takes the whole column while labelling (the chart and the split
        # settings follow the labels when the mode is left).
        for widget in (self.panel.class_table, self.panel.split_settings,
                       self.panel.left_splitter.widget(self.panel.left_splitter.count() - 2)):
            widget.setVisible(not on)
        self.panel.class_filter.setEnabled(not on)
        self.panel.split_filter.setEnabled(not on)
        self.panel.changed_filter.setEnabled(not on)
        self._refresh_classes(force=True)
        if on:
            self.show_items()
        elif changed:
            self.panel.apply_filter()
        self._update_hint()
        if changed:
            self.activeChanged.emit(on)

    def set_queue(self, items, upcoming=()) -> None:
        """Show ``items`` (``[{"path", "suggested", "score"}]``, best first) while labelling;
        paths the open dataset does not have are left out. ``upcoming``: the paths the
        queue's owner shows once these are labelled, in order; their previews are decoded
        ahead as the keys near the grid's end."""
        self._upcoming = tuple(upcoming)
        self._queue = [dict(i) for i in items]
        self._suggested = {i["path"]: (i.get("suggested"), i.get("score")) for i in self._queue}
        if self._active:
            self.show_items()
        self.panel.thumbs.refresh_marks()

    def clear_queue(self) -> None:
        self._queue, self._suggested, self._upcoming = None, {}, ()
        if self._active:
            self.show_items()
        self.panel.thumbs.refresh_marks()

    def queue(self) -> list[dict] | None:
        return list(self._queue) if self._queue is not None else None

    def upcoming(self) -> tuple[str, ...]:
        """The paths shown after the queue (``set_queue``'s ``upcoming``)."""
        return self._upcoming

    def set_note(self, text: str | None) -> None:
        """A line the hint starts with (what Label next is doing meanwhile); None: none."""
        self.hint.note = text
        self._update_hint()

    def has_suggestions(self) -> bool:
        return bool(self._suggested)

    def selected_paths(self) -> list[str]:
        """The selected images, in grid order (the current one when none is selected)."""
        grid = self.panel.grid
        rows = sorted(i.row() for i in grid.selectionModel().selectedIndexes())
        if not rows and grid.currentIndex().isValid():
            rows = [grid.currentIndex().row()]
        model = self.panel.thumbs
        return [model.index(r, 0).data(PathRole) for r in rows]

    @Slot(str)
    def label_selected(self, cls: str) -> None:
        """Give the selected images the class ``cls`` and go to the next unlabelled one."""
        paths = self.selected_paths()
        if not paths or cls not in self.fixes.classes:
            return
        last = self._last_selected_row()
        self.fixes.relabel(paths, cls)
        self.labelled.emit(paths, cls)
        self._advance(last)

    def accept_suggestions(self) -> bool:
        """Enter: give each selected image its suggested class. False when none has one."""
        wanted = {p: self._suggested[p][0] for p in self.selected_paths()
                  if self._suggested.get(p, (None,))[0] in self.fixes.classes}
        if not wanted:
            return False
        last = self._last_selected_row()
        self.fixes.accept_suggestions(wanted)
        for cls in dict.fromkeys(wanted.values()):
            self.labelled.emit([p for p, c in wanted.items() if c == cls], cls)
        self._advance(last)
        return True

    def _advance(self, last: int) -> None:
        """After a key's label: the next image, its preview from what was decoded ahead."""
        with self.next.key_move():
            self.select_next(last)

    def select_next(self, after_row: int = -1) -> bool:
        """Select the first image still to label after grid row ``after_row`` (wrapping
        round); False (and a hint) when there is none."""
        model = self.panel.thumbs
        n = model.rowCount()
        for r in [*range(after_row + 1, n), *range(0, min(after_row + 1, n))]:
            if self.to_label(model.index(r, 0).data(PathRole)):
                idx = model.index(r, 0)
                grid = self.panel.grid
                grid.selectionModel().setCurrentIndex(
                    idx, QItemSelectionModel.SelectionFlag.ClearAndSelect)
                grid.scrollTo(idx)
                self._refresh_timer.start()
                return True
        if self._queue and not self._topping_up:
            # Nothing of the queue is left: its owner shows more (set_queue/clear_queue
            # select the first of it); guarded, as they come back here.
            self._topping_up = True
            try:
                self.queueUsedUp.emit()
            finally:
                self._topping_up = False
            if self.to_label(self.panel.grid.currentIndex().data(PathRole)):
                return True
        self._update_hint()
        return False

    def show_items(self) -> None:
        """Fill the grid: the queue in its order, else every unlabelled image."""
        model = self.panel.thumbs
        if self._queue:
            samples = [s for s in (model.sample_of(i["path"]) for i in self._queue) if s is not None]
            model.set_order(samples)
        else:
            model.set_filter(unlabelled=True)
        self.panel.update_shown()
        self.select_next(-1)

    # -- class edits (dataset_labelling_classes.ClassEditor) -------------------------
    def add_class(self, name: str) -> bool:
        """Make a class (Ctrl+Z undoes); False with the reason shown when it can't."""
        return self.classes.add_class(name)

    def rename_class(self, old: str, new: str) -> bool:
        return self.classes.rename_class(old, new)

    def delete_class(self, name: str) -> bool:
        return self.classes.delete_class(name)

    def say(self, text: str) -> None:
        """Show ``text`` as a problem in the hint and the status bar."""
        self.hint.say(text)
        self.state.statusMessage.emit(text)

    # -- internals ---------------------------------------------------------------------
    def to_label(self, path) -> bool:
        """Whether ``path`` still needs a label (not labelled with a current class, not
        excluded); the preview-ahead asks it of the images after the selection."""
        if not path:
            return False
        label, excluded = self.fixes.overlay.state(path) if self.fixes.overlay is not None else (None, False)
        if excluded or label in self.fixes.classes:
            return False
        model = self.panel.thumbs
        sample = model.sample_of(path)
        return sample is not None and (model.is_unlabelled(sample) or path in self._suggested)

    def _last_selected_row(self) -> int:
        grid = self.panel.grid
        rows = [i.row() for i in grid.selectionModel().selectedIndexes()]
        if grid.currentIndex().isValid():
            rows.append(grid.currentIndex().row())
        return max(rows) if rows else -1

    def _mark(self, path: str) -> str:
        mark = self.fixes.mark(path)
        if mark or not self._suggested:
            return mark
        cls, score = self._suggested.get(path, (None, None))
        if not cls:
            return ""
        return f"{cls}? {score:.0%}" if isinstance(score, (int, float)) else f"{cls}?"

    def totals(self) -> dict[str, int]:
        """``{class: labelled images}`` of the open dataset (with the label fixes)."""
        from training.data.pool import class_totals

        index = self.state.dataset
        return class_totals(index, self.fixes.overlay) if index is not None else {}

    def _refresh_classes(self, force: bool = False) -> None:
        index = self.state.dataset
        if index is None:
            return
        classes = list(index.classes)
        if self._active or force:
            keys = {c: k for k, c in class_keys(classes).items()}
            self.class_list.set_classes(classes, keys, self.totals())
        if classes != self._classes_seen:
            self._classes_seen = classes
            self.panel.classes_edited()

    def _update_hint(self) -> None:
        from training.data.pool import pool_left

        index = self.state.dataset
        left = pool_left(index, self.fixes.overlay) if index is not None else 0
        self.toggle.setToolTip(f"Show the {left:,} unlabelled images and give them a class "
                               "with a key" if left else "Show the unlabelled images and give "
                               "them a class with a key")
        self.hint.show_for(self, left)

    @Slot()
    def _on_fixes_changed(self) -> None:
        self._refresh_timer.start()

    @Slot()
    def _refresh_now(self) -> None:
        self._refresh_classes()
        self._update_hint()

    def dataset_changed(self) -> None:
        """The panel shows another dataset (or the same one reopened)."""
        self.next.clear()
        self._classes_seen = list(self.state.dataset.classes) if self.state.dataset is not None else []
        index = self.state.dataset
        if index is None:
            self.set_active(False)
            return
        source = index.source_classes if index.source_classes is not None else index.classes
        if index.unlabelled and not source:
            self._active = False   # a folder of loose images opens ready to label
            self.toggle.setChecked(True)
            self.set_active(True)
        elif self._active:
            self.set_active(True)   # reopened (a class deleted): stay in the mode
        self._update_hint()

    # -- previews decoded ahead (dataset_labelling_previews.NextPreviews) ---------------
    @property
    def previews(self) -> "collections.OrderedDict[str, dict]":
        return self.next.ahead.cache

    @property
    def ahead(self):
        return self.next.ahead

    def cached_preview(self, path: str) -> dict | None:
        return self.next.ahead.get(path)

    def keep_preview(self, result: dict) -> None:
        self.next.ahead.keep(result)

    def preview_box(self) -> tuple[int, int]:
        return self.next.preview_box()

    def preview_for(self, path: str, row: int) -> dict | None:
        return self.next.preview_for(path, row)

    def reduced_path(self) -> str | None:
        return self.next.reduced

    def pending(self) -> bool:
        return self.next.pending()

    def shutdown(self) -> None:
        self._refresh_timer.stop()
        self.next.shutdown()

    # -- keys ------------------------------------------------------------------------------
    def eventFilter(self, obj, event) -> bool:
        if (not self._active or event.type() != QEvent.Type.KeyPress
                or event.modifiers() & ~Qt.KeyboardModifier.KeypadModifier):
            return False
        key = event.key()
        if Qt.Key.Key_0 <= key <= Qt.Key.Key_9:
            digit = str(key - Qt.Key.Key_0)
            cls = class_keys(self.fixes.classes).get(digit)
            if cls is None:
                self.say(f"No class has the key {digit}." + (
                    "" if self.fixes.classes else " Create a class first: Add class… on the left."))
            else:
                self.label_selected(cls)
            return True
        if key in (Qt.Key.Key_Return, Qt.Key.Key_Enter):
            return self.accept_suggestions()
        if key in (Qt.Key.Key_Delete, Qt.Key.Key_Backspace):
            paths, last = self.selected_paths(), self._last_selected_row()
            if paths:
                self.fixes.exclude(paths)
                self._advance(last)
                return True
        return False
