"""Confusion-matrix heatmap with a count in every cell; clicking a cell reports it.

Drawing a 10x10 annotated matrix costs ~200 ms here, so the panel calls
:meth:`ConfusionChart.set_matrix` once per run load, never in a loop.
"""
from __future__ import annotations

import numpy as np
from PySide6.QtCore import Signal

from workbench.charts.base import ChartCanvas

# Past this many classes the per-cell numbers become unreadable; colour still tells.
_MAX_ANNOTATED = 25


class ConfusionChart(ChartCanvas):
    """Rows are true classes, columns predicted classes.

    Signals:
        cellClicked(int, int): the (true, predicted) class indices of a clicked cell.
    """

    cellClicked = Signal(int, int)

    def __init__(self, parent=None):
        self.matrix: np.ndarray | None = None
        self.classes: list[str] = []
        self.texts = []          # the count annotations, row-major (tests read them)
        self.image = None
        super().__init__(parent, width=4.2, height=3.6)
        self.mpl_connect("button_press_event", self.on_press)

    def setup(self) -> None:
        self.ax = self.figure.add_subplot(1, 1, 1)
        self.image, self.texts = None, []
        if self.matrix is None:
            self.ax.set_axis_off()
            self.empty_message(self.ax, "Train or evaluate a model to see its confusion matrix")
            return
        m, classes, ax = self.matrix, self.classes, self.ax
        n = len(classes)
        # Colour by the fraction of each true class so small classes still read clearly.
        rows = m.sum(axis=1, keepdims=True).astype(float)
        frac = np.divide(m, rows, out=np.zeros(m.shape, float), where=rows > 0)
        self.image = ax.imshow(frac, cmap="Blues", vmin=0, vmax=1, interpolation="nearest")
        ax.set_xticks(range(n), [_short(c) for c in classes], rotation=45 if n > 4 else 0,
                      ha="right" if n > 4 else "center", fontsize=8)
        ax.set_yticks(range(n), [_short(c) for c in classes], fontsize=8)
        ax.set_xlabel("Predicted class")
        ax.set_ylabel("True class")
        ax.set_title("Confusion matrix\n(click a cell to see its images)", fontsize=9)
        if n <= _MAX_ANNOTATED:
            size = 9 if n <= 10 else 7
            for i in range(n):
                for j in range(n):
                    colour = "white" if frac[i, j] > 0.55 else "black"
                    # in_layout=False: the counts sit inside the axes, and measuring
                    # every one of them made constrained layout half the draw time.
                    self.texts.append(ax.text(j, i, str(int(m[i, j])), ha="center",
                                              va="center", color=colour, fontsize=size,
                                              in_layout=False))
        self.figure.colorbar(self.image, ax=ax, fraction=0.046, pad=0.04,
                             label="fraction of true class")

    def set_matrix(self, matrix, classes: list[str]) -> None:
        """Show a matrix (list of lists or array of counts) for ``classes``."""
        m = np.asarray(matrix, dtype=np.int64)
        if m.ndim != 2 or m.shape[0] != m.shape[1] or m.shape[0] != len(classes):
            raise ValueError(f"confusion matrix must be {len(classes)}x{len(classes)} for "
                             f"{len(classes)} classes. Received: shape={m.shape}")
        self.matrix, self.classes = m, list(classes)
        self.clear()

    def reset(self) -> None:
        self.matrix, self.classes = None, []
        self.clear()

    def on_press(self, event) -> None:
        """Matplotlib ``button_press_event`` handler: emit the clicked cell."""
        cell = self.cell_at(event)
        if cell is not None:
            self.cellClicked.emit(*cell)

    def cell_at(self, event) -> tuple[int, int] | None:
        if self.matrix is None or event.inaxes is not self.ax or event.xdata is None:
            return None
        j, i = int(round(event.xdata)), int(round(event.ydata))
        n = len(self.classes)
        if 0 <= i < n and 0 <= j < n:
            return i, j
        return None


def _short(name: str, limit: int = 14) -> str:
    return name if len(name) <= limit else name[: limit - 1] + "…"
