"""Confusion-matrix heatmap with a count in every cell; clicking a cell reports it.

Drawing a 10x10 annotated matrix costs ~480 ms here: it happens on a render thread (see
:mod:`workbench.charts.base`), once per run load. Clicks are mapped to cells from the
geometry of the image on screen, never by asking the figure.
"""
from __future__ import annotations

import numpy as np
from PySide6.QtCore import Qt, Signal

from workbench.charts.base import ChartCanvas

# Past this many classes the per-cell numbers become unreadable; colour still tells.
_MAX_ANNOTATED = 25
_HIGHLIGHT = "highlighted-cell"
_COUNT = "count"   # gid of the count annotations


class ConfusionChart(ChartCanvas):
    """Rows are true classes, columns predicted classes.

    Signals:
        cellClicked(int, int): the (true, predicted) class indices of a clicked cell.
    """

    rebuild_on_resize = True   # count / legend sizes follow the pixels

    cellClicked = Signal(int, int)

    def __init__(self, parent=None):
        self.matrix: np.ndarray | None = None
        self.classes: list[str] = []
        self.highlight: tuple[int, int] | None = None   # the clicked (true, predicted) cell
        super().__init__(parent, width=4.2, height=3.6)
        self.setMouseTracking(True)   # a pointing hand over the cells says "click me"

    def state(self) -> dict:
        return {"matrix": self.matrix, "classes": list(self.classes), "highlight": self.highlight}

    def build(self, state: dict):
        ax = self.figure.add_subplot(1, 1, 1)
        m, classes = state["matrix"], state["classes"]
        if m is None:
            ax.set_axis_off()
            self.empty_message(ax, "Train or evaluate a model to see its confusion matrix")
            return ax
        n = len(classes)
        # Colour by the fraction of each true class so small classes still read clearly.
        rows = m.sum(axis=1, keepdims=True).astype(float)
        frac = np.divide(m, rows, out=np.zeros(m.shape, float), where=rows > 0)
        image = ax.imshow(frac, cmap="Blues", vmin=0, vmax=1, interpolation="nearest")
        # Small (a 1024x640 window): no title (the tab names it), smaller labels, so the
        # matrix keeps most of the room instead of overlapping its own labels.
        w_in, h_in = self.figure.get_size_inches()
        small = min(w_in, h_in) * self.figure.dpi < 320
        tick = 6 if small and n > 6 else 8
        ax.set_xticks(range(n), [_short(c) for c in classes], rotation=(90 if small else 45) if n > 4 else 0,
                      ha=("center" if small else "right") if n > 4 else "center", fontsize=tick)
        ax.set_yticks(range(n), [_short(c) for c in classes], fontsize=tick)
        ax.set_xlabel("Predicted class", fontsize=8 if small else None)
        ax.set_ylabel("True class", fontsize=8 if small else None)
        if not small:
            ax.set_title("Confusion matrix\n(click a cell to see its images)", fontsize=9)
        size = annotation_size(self.figure, n, int(m.max()) if m.size else 0)
        if n <= _MAX_ANNOTATED and size:
            for i in range(n):
                for j in range(n):
                    colour = "white" if frac[i, j] > 0.55 else "black"
                    # in_layout=False: the counts sit inside the axes, and measuring
                    # every one of them made constrained layout half the draw time.
                    ax.text(j, i, str(int(m[i, j])), ha="center", va="center", color=colour,
                            fontsize=size, in_layout=False, gid=_COUNT)
        cell = state.get("highlight")
        if cell is not None and 0 <= cell[0] < n and 0 <= cell[1] < n:
            from matplotlib.patches import Rectangle

            # The clicked cell, outlined so the gallery below is clearly "these images".
            ax.add_patch(Rectangle((cell[1] - 0.5, cell[0] - 0.5), 1, 1, fill=False,
                                   edgecolor="#e8590c", linewidth=2.5, gid=_HIGHLIGHT,
                                   in_layout=False))
        bar = self.figure.colorbar(image, ax=ax, fraction=0.046, pad=0.04,
                                   label=None if small else "fraction of true class")
        if small:
            bar.ax.tick_params(labelsize=6)
        return ax

    @property
    def texts(self) -> list:
        """The count annotations, row-major (read back from the built axes)."""
        return [t for t in self.ax.texts if t.get_gid() == _COUNT] if self.ax is not None else []

    @property
    def image(self):
        """The coloured cells (an ``AxesImage``), or None."""
        return self.ax.images[0] if self.ax is not None and self.ax.images else None

    def set_matrix(self, matrix, classes: list[str]) -> None:
        """Show a matrix (list of lists or array of counts) for ``classes``."""
        m = np.array(matrix, dtype=np.int64)   # a copy: frozen below
        if m.ndim != 2 or m.shape[0] != m.shape[1] or m.shape[0] != len(classes):
            raise ValueError(f"confusion matrix must be {len(classes)}x{len(classes)} for "
                             f"{len(classes)} classes. Received: shape={m.shape}")
        m.setflags(write=False)   # the render thread reads it
        self.matrix, self.classes = m, list(classes)
        self.changed()

    def reset(self) -> None:
        self.matrix, self.classes, self.highlight = None, [], None
        self.changed()

    def set_highlight(self, cell: tuple[int, int] | None) -> None:
        """Outline the (true, predicted) cell whose images the gallery shows."""
        self.highlight = tuple(cell) if cell is not None else None
        self.changed()

    @property
    def highlight_patch(self):
        """The outline of the highlighted cell as drawn, or None (tests read it)."""
        if self.ax is None:
            return None
        return next((p for p in self.ax.patches if p.get_gid() == _HIGHLIGHT), None)

    def cell_at(self, pos) -> tuple[int, int] | None:
        """The (true, predicted) cell under a widget position, or None."""
        if self.matrix is None:
            return None
        xy = self.data_at(pos)
        if xy is None:
            return None
        j, i = int(round(xy[0])), int(round(xy[1]))
        n = len(self.classes)
        if 0 <= i < n and 0 <= j < n:
            return i, j
        return None

    def mousePressEvent(self, event) -> None:
        cell = None
        if event.button() == Qt.MouseButton.LeftButton:
            cell = self.cell_at(event.position())
        if cell is None:
            super().mousePressEvent(event)
            return
        event.accept()
        self.cellClicked.emit(*cell)

    def mouseMoveEvent(self, event) -> None:
        cell = self.cell_at(event.position())
        if cell is not None:
            i, j = cell
            self.setCursor(Qt.CursorShape.PointingHandCursor)
            self.setToolTip(f"True {self.classes[i]}, predicted {self.classes[j]}: "
                            f"{int(self.matrix[i, j]):,} images")
        else:
            self.unsetCursor()
            self.setToolTip("")
        super().mouseMoveEvent(event)


def _short(name: str, limit: int = 14) -> str:
    return name if len(name) <= limit else name[: limit - 1] + "…"


def annotation_size(figure, n: int, largest: int) -> float | None:
    """Font size (points) for the counts so the widest one fits its cell, or None when
    cells are too small to hold readable numbers (the colours and a click still work).
    At 1024x640 a 10-class matrix has ~15 px cells: fixed 9 pt counts overlapped."""
    w_in, h_in = figure.get_size_inches()
    # The matrix gets roughly 45% of the smaller side (labels, title, colour bar take the rest).
    cell_px = 0.45 * min(w_in, h_in) * figure.dpi / max(n, 1)
    digits = len(str(max(largest, 0)))
    # A digit is ~0.6 em wide; leave a fifth of the cell as margin.
    size_px = min(cell_px * 0.8 / (0.6 * digits), cell_px * 0.7)
    size_pt = size_px * 72.0 / figure.dpi
    if size_pt < 5.0:
        return None
    return round(min(size_pt, 9.0), 1)
