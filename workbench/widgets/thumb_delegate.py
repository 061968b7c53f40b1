"""The Dataset grid's tiles painted in one Python call each.

Qt's ``QStyledItemDelegate`` paints an icon-mode item through the style: it asks the
model for ~9 roles (``multiData``), lays the icon and the caption out with a
``QTextLayout`` and draws them as a ``QIcon``. Paging Fashion-MNIST's grid while a
training ran beside it, a page's paint took 2.8 ms median and up to 15 ms, and the GUI
thread's 10 ms timer ticks were as late as the paint was long (p99 9 ms against the 5 ms
target; docs/BENCHMARKS.md section 14). Measured on the same page, this delegate paints it
in ~55 % of the time.

It draws what the default one draws for this grid: the thumbnail centred at the top, the
caption below it elided in the middle (the model's text: the file name, or a fix's mark),
greyed out when the model says so (an excluded image), the selection's highlight and the
keyboard focus frame. The size of a tile is the view's grid size, as before.
"""
from __future__ import annotations

from PySide6.QtCore import QRect, Qt
from PySide6.QtGui import QPalette
from PySide6.QtWidgets import QStyle, QStyledItemDelegate, QStyleOptionFocusRect

_DECORATION = Qt.ItemDataRole.DecorationRole
_DISPLAY = Qt.ItemDataRole.DisplayRole
_FOREGROUND = Qt.ItemDataRole.ForegroundRole
_SELECTED = QStyle.StateFlag.State_Selected
_ACTIVE = QStyle.StateFlag.State_Active
_FOCUS = QStyle.StateFlag.State_HasFocus
_CAPTION_FLAGS = Qt.AlignmentFlag.AlignHCenter | Qt.AlignmentFlag.AlignTop
MARGIN = 3   # pixels between the tile's edge, the thumbnail and the caption


class ThumbnailDelegate(QStyledItemDelegate):
    """Paints a thumbnail tile: pixmap, caption, selection and focus (module docstring)."""

    def paint(self, painter, option, index) -> None:
        model = index.model()
        rect = option.rect
        state = option.state
        selected = bool(state & _SELECTED)
        group = QPalette.ColorGroup.Active if state & _ACTIVE else QPalette.ColorGroup.Inactive
        palette = option.palette
        if selected:
            painter.fillRect(rect, palette.brush(group, QPalette.ColorRole.Highlight))
        pix = model.data(index, _DECORATION)
        top = rect.y() + MARGIN
        if pix is not None and not pix.isNull():
            w, h = pix.width(), pix.height()
            # Centred in the icon's square, as the style places it.
            size = option.decorationSize
            painter.drawPixmap(rect.x() + (rect.width() - w) // 2,
                               top + max(0, (size.height() - h) // 2), pix)
            top += size.height() + MARGIN
        text = model.data(index, _DISPLAY)
        if text:
            colour = model.data(index, _FOREGROUND)
            if selected:
                colour = palette.color(group, QPalette.ColorRole.HighlightedText)
            elif colour is None:
                colour = palette.color(group, QPalette.ColorRole.Text)
            width = rect.width() - 2 * MARGIN
            caption = option.fontMetrics.elidedText(str(text), Qt.TextElideMode.ElideMiddle, width)
            painter.save()
            painter.setPen(colour)
            painter.drawText(QRect(rect.x() + MARGIN, top, width, rect.bottom() - top),
                             _CAPTION_FLAGS, caption)
            painter.restore()
        if state & _FOCUS:
            focus = QStyleOptionFocusRect()
            focus.rect, focus.state, focus.palette = rect, state, palette
            widget = option.widget
            style = widget.style() if widget is not None else None
            if style is not None:
                style.drawPrimitive(QStyle.PrimitiveElement.PE_FrameFocusRect, focus, painter,
                                    widget)
