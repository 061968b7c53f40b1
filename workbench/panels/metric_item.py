"""A per-class table cell that sorts by its number, with the macro/weighted average rows
kept below the classes whichever way the column is sorted."""
from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QTableWidgetItem


class MetricItem(QTableWidgetItem):
    def __init__(self, text: str, key, average: bool = False):
        super().__init__(text)
        self.key, self.average = key, average

    def __lt__(self, other) -> bool:
        if not isinstance(other, MetricItem):
            return self.text() < other.text()
        table = self.tableWidget()
        descending = (table is not None and table.horizontalHeader().sortIndicatorOrder()
                      == Qt.SortOrder.DescendingOrder)
        if self.average != other.average:
            # Averages last: "greater" when ascending, "smaller" when descending.
            return other.average != descending
        if self.average:   # macro then weighted, whichever the direction
            return (self.row() < other.row()) != descending
        a, b = self.key, other.key
        if isinstance(a, (int, float)) and isinstance(b, (int, float)):
            return a < b
        if isinstance(a, (int, float)) != isinstance(b, (int, float)):
            return isinstance(a, (int, float))   # numbers before blanks
        return str(a).lower() < str(b).lower()
