"""The mark of an image the model would answer "unknown" (``training.trust.unknown``).

A small amber disc with a "?" in a thumbnail's top-right corner, and the short words a
gallery caption uses; the Results galleries (``workbench.panels.results_unknown``) put it
on the test images that the run's rule would not answer.
"""
from __future__ import annotations

from PySide6.QtCore import QRectF, Qt
from PySide6.QtGui import QColor, QFont, QPainter, QPen, QPixmap

UNKNOWN_COLOR = QColor(214, 120, 0)
SHORT_LINE = "unknown"


def badged(pixmap: QPixmap) -> QPixmap:
    """A copy of ``pixmap`` with the unknown mark in its top-right corner."""
    out = QPixmap(pixmap)
    if out.isNull():
        return out
    side = max(10, min(out.width(), out.height()) // 3)
    painter = QPainter(out)
    painter.setRenderHint(QPainter.RenderHint.Antialiasing)
    rect = QRectF(out.width() - side - 1, 1, side, side)
    painter.setPen(QPen(QColor(255, 255, 255), max(1, side // 10)))
    painter.setBrush(UNKNOWN_COLOR)
    painter.drawEllipse(rect)
    font = QFont()
    font.setBold(True)
    font.setPixelSize(max(8, int(side * 0.7)))
    painter.setFont(font)
    painter.setPen(QColor(255, 255, 255))
    painter.drawText(rect, Qt.AlignmentFlag.AlignCenter, "?")
    painter.end()
    return out
