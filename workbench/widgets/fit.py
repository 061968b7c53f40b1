"""Small helpers that keep tables and columns readable from 1024x640 (the minimum
supported window) to 1920x1080: a table that hides optional columns before eliding the
text of the others, splitter sizes proportional to the available width, and a long label
that scrolls instead of growing its panel."""
from __future__ import annotations

from PySide6.QtCore import QEvent, QObject, Qt, QTimer
from PySide6.QtWidgets import QFrame, QHeaderView, QLabel, QScrollArea, QTableWidget


class ColumnFitter(QObject):
    """Keeps every column of ``table`` at its contents' width and hides the ``optional``
    columns (left to right) while the visible ones would not fit the viewport, so the
    important text is never elided. Shown again as soon as there is room."""

    def __init__(self, table: QTableWidget, optional: list[int]):
        super().__init__(table)
        self.table = table
        self.optional = list(optional)
        header = table.horizontalHeader()
        header.setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        header.setStretchLastSection(True)
        # Filling a table changes many cells: fit once, on the next event-loop turn.
        self._timer = QTimer(self, singleShot=True, interval=0)
        self._timer.timeout.connect(self.fit)
        table.viewport().installEventFilter(self)
        for signal in (table.model().rowsInserted, table.model().dataChanged,
                       table.model().modelReset):
            signal.connect(self._timer.start)

    def eventFilter(self, obj, event) -> bool:
        if event.type() == QEvent.Type.Resize:
            self._timer.start()
        return False

    def _needed(self, columns) -> int:
        t = self.table
        return sum(max(t.sizeHintForColumn(c), t.horizontalHeader().sectionSizeHint(c))
                   for c in columns)

    def fit(self, *_args) -> None:
        try:
            self._fit()
        except RuntimeError:   # the table is being deleted
            pass

    def _fit(self) -> None:
        t = self.table
        available = t.viewport().width()
        shown = [c for c in range(t.columnCount()) if c not in self.optional]
        for c in self.optional:
            t.setColumnHidden(c, True)
        for c in self.optional:
            if self._needed(shown + [c]) <= available:
                shown.append(c)
                t.setColumnHidden(c, False)


def proportional_sizes(total: int, weights: list[float], minimums: list[int]) -> list[int]:
    """Split ``total`` pixels by ``weights``, never below each column's minimum."""
    sizes = [max(m, int(total * w / sum(weights))) for w, m in zip(weights, minimums)]
    excess = sum(sizes) - total
    if excess > 0:   # take it from the columns above their minimum, largest first
        for i in sorted(range(len(sizes)), key=lambda i: -(sizes[i] - minimums[i])):
            cut = min(excess, sizes[i] - minimums[i])
            sizes[i] -= cut
            excess -= cut
    return sizes


def text_scroller(label: QLabel) -> QScrollArea:
    """``label`` (word-wrapped) in a frameless area that scrolls vertically only, so its
    text wraps to the column's width; the caller bounds the area's height in lines."""
    area = QScrollArea()
    area.setWidget(label)
    area.setWidgetResizable(True)
    area.setFrameShape(QFrame.Shape.NoFrame)
    area.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
    return area
