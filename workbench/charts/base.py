"""The one chart base class: a ``FigureCanvasQTAgg`` around a ``Figure`` (never pyplot).

Subclasses build their axes in :meth:`setup` and update artists in place, then call
:meth:`refresh`, which coalesces redraws with ``draw_idle()``: a full redraw of a
two-axes chart costs ~100 ms here, so charts redraw at most once per data update
(once per epoch for training curves), never per batch.
"""
from __future__ import annotations

from matplotlib.backends.backend_qtagg import FigureCanvasQTAgg
from matplotlib.figure import Figure
from PySide6.QtWidgets import QSizePolicy


class ChartCanvas(FigureCanvasQTAgg):
    def __init__(self, parent=None, width: float = 5.0, height: float = 3.0, dpi: int = 100):
        self.figure = Figure(figsize=(width, height), dpi=dpi, layout="constrained")
        super().__init__(self.figure)
        self.setParent(parent)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Expanding)
        self.setMinimumSize(200, 150)
        self.setup()

    def setup(self) -> None:
        """Create axes and artists. Called once from the constructor."""

    def clear(self) -> None:
        """Forget the data and show the empty state."""
        self.figure.clear()
        self.setup()
        self.refresh()

    def refresh(self) -> None:
        self.draw_idle()

    def empty_message(self, ax, text: str) -> None:
        """Write a hint in the middle of an empty axes ("Train a model to see …")."""
        ax.text(0.5, 0.5, text, ha="center", va="center", transform=ax.transAxes,
                color="0.45", fontsize=10, wrap=True)
