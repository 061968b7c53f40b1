"""Work for what is on screen, held while its widget is hidden.

A panel that is not shown (Results while the user trains from the Dataset panel, a tab
behind another) still gets its data: a finished run's evaluation fills the Results
gallery whether or not anyone looks at it. Decoding those thumbnails, the selected
image and checking them with the run's model cost pool threads and service time that the
GUI thread needs at that moment: the paging run of ``bench/gui_responsiveness.py`` found
the hidden Results gallery's decode among the 3-4 pool threads running beside the GUI
thread in its worst ticks (docs/BENCHMARKS.md section 14). So the widgets that start such
work (:class:`~workbench.widgets.image_gallery.ImageGallery`,
:class:`~workbench.widgets.image_detail.ImageDetail`) hand it to a :class:`WhenShown`,
which runs it now when the widget is visible and otherwise the moment it is shown.
Charts do the same by their own render key (:meth:`workbench.charts.base.ChartCanvas._request`):
a hidden chart is drawn when shown.

Plain Python, used on the GUI thread only; the owning widget calls :meth:`WhenShown.shown`
from its ``showEvent`` (an event filter would make every event of the widget a call into
Python).
"""
from __future__ import annotations

import weakref
from collections.abc import Callable

from PySide6.QtWidgets import QWidget


class WhenShown:
    """Runs callables for ``widget``'s screen now if it is visible, else once it is shown.

    Each piece of work has a key; giving a key new work replaces what waits under it
    (newer data supersedes older data that was never shown).
    """

    def __init__(self, widget: QWidget) -> None:
        # Weak: the widget owns this, and its waiting work usually refers to the widget;
        # no cycle is left for the collector once that work has run or been dropped.
        self._widget = weakref.ref(widget)
        self._waiting: dict[str, Callable[[], None]] = {}

    def _visible(self) -> bool:
        widget = self._widget()
        return widget is not None and widget.isVisible()

    def run(self, key: str, work: Callable[[], None]) -> None:
        """Run ``work`` now if the widget is visible; else keep it (replacing ``key``'s)."""
        if self._visible():
            self._waiting.pop(key, None)
            work()
        else:
            self._waiting[key] = work

    def cancel(self, key: str | None = None) -> None:
        """Forget ``key``'s waiting work (its data was cleared), or all of it (shutdown)."""
        if key is None:
            self._waiting.clear()
        else:
            self._waiting.pop(key, None)

    def waiting(self, key: str | None = None) -> bool:
        """True while work (``key``'s, or any) waits for the widget to be shown."""
        return key in self._waiting if key is not None else bool(self._waiting)

    def shown(self) -> None:
        """The widget was shown: run what waited, in the order it was first given."""
        if not self._visible():
            return   # a show event of a widget whose parent is still hidden
        while self._waiting:
            key = next(iter(self._waiting))
            self._waiting.pop(key)()
