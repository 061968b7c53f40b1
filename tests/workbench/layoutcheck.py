"""Find clipped text in a rendered window: labels whose text does not fit their box, and
table cells whose text is elided. Used by the layout tests at 1024x640 and 1920x1080."""
from __future__ import annotations

from PySide6.QtGui import Qt
from PySide6.QtWidgets import QAbstractScrollArea, QLabel, QTableWidget


def _shown(widget, window) -> bool:
    if not widget.isVisibleTo(window) or widget.width() <= 0 or widget.height() <= 0:
        return False
    # Inside a scroll area, text outside the viewport is reachable by scrolling.
    parent = widget.parentWidget()
    while parent is not None and parent is not window:
        if isinstance(parent, QAbstractScrollArea) and not isinstance(parent, QTableWidget):
            return False
        parent = parent.parentWidget()
    return True


def clipped_labels(window) -> list[str]:
    out = []
    for label in window.findChildren(QLabel):
        text = label.text()
        if not text or label.pixmap() is not None and not label.pixmap().isNull() or not _shown(label, window):
            continue
        box = label.contentsRect()
        if label.wordWrap():
            need = label.heightForWidth(box.width() + label.width() - box.width())
            if need > label.height() + 1:
                out.append(f"{text[:60]!r}: needs {need} px of height, has {label.height()}")
        else:
            need = label.sizeHint().width() if Qt.mightBeRichText(text) else \
                label.fontMetrics().horizontalAdvance(max(text.splitlines() or [""], key=len)) \
                + label.margin() * 2 + label.indent() * 0
            if need > label.width() + 1:
                out.append(f"{text[:60]!r}: needs {need} px of width, has {label.width()}")
    return out


def elided_cells(table: QTableWidget, columns=None) -> list[str]:
    """Cells of ``table`` whose text is wider than their column (Qt elides it)."""
    out = []
    fm = table.fontMetrics()
    for c in columns if columns is not None else range(table.columnCount()):
        if table.isColumnHidden(c):
            continue
        width = table.columnWidth(c)
        for r in range(table.rowCount()):
            item = table.item(r, c)
            if item is None or table.isRowHidden(r):
                continue
            need = fm.horizontalAdvance(item.text()) + 6   # 2 x the cell text margin
            if need > width:
                out.append(f"row {r} col {c} {item.text()!r}: needs {need} px, has {width}")
    return out
