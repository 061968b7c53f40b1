"""Horizontal bar chart of every class probability for one image."""
from __future__ import annotations

import numpy as np

from workbench.charts.base import ChartCanvas

# With many classes (dog breeds: 133) only the most likely ones fit on screen.
_MAX_BARS = 15
_MARGIN_PX = 70      # title, x axis label and ticks
_PX_PER_BAR = 12     # one 8-pt class label


class ProbabilityChart(ChartCanvas):
    """Bars of class probabilities, the predicted class highlighted.

    The true class (when known) is green if it was predicted and red otherwise.
    """

    def __init__(self, parent=None):
        self.classes: list[str] = []
        self.probs: np.ndarray | None = None
        self.true_index: int | None = None
        super().__init__(parent, width=3.6, height=2.6)
        self.setMinimumSize(200, 120)

    def state(self) -> dict:
        return {"classes": list(self.classes), "probs": self.probs, "true": self.true_index}

    @property
    def bars(self) -> list:
        """The probability bars, most likely class first (read back from the built axes)."""
        return list(self.ax.patches) if self.ax is not None else []

    def build(self, state: dict):
        ax = self.figure.add_subplot(1, 1, 1)
        probs, classes, true_index = state["probs"], state["classes"], state["true"]
        if probs is None:
            ax.set_axis_off()
            self.empty_message(ax, "Select an image to see its class probabilities")
            return ax
        # Only as many bars as leave their labels readable at the chart's height (the
        # Results panel at 1024x640 gives it ~120 px: 10 labels there overlapped).
        height_px = self.figure.get_figheight() * self.figure.dpi
        limit = max(3, min(_MAX_BARS, int((height_px - _MARGIN_PX) / _PX_PER_BAR)))
        order = np.argsort(-probs)[:limit]
        pred = int(order[0])
        colours = []
        for i in order:
            if true_index is not None and i == true_index:
                colours.append("tab:green" if i == pred else "tab:red")
            else:
                colours.append("tab:blue" if i == pred else "0.7")
        y = np.arange(len(order))
        ax.barh(y, probs[order], color=colours)
        ax.set_yticks(y, [classes[i] for i in order], fontsize=8)
        ax.invert_yaxis()
        ax.set_xlim(0, 1)
        ax.set_xlabel("Probability")
        title = "Class probabilities"
        if len(probs) > limit:
            title = f"Top {limit} of {len(probs)} classes"   # short: the chart can be narrow
        ax.set_title(title, fontsize=9)
        for yi, i in zip(y, order):
            p = float(probs[i])
            if p > 0.8:  # label inside the long bar, where there is room
                ax.text(p - 0.02, yi, f"{p:.1%}", va="center", ha="right", fontsize=7,
                        color="white")
            else:
                ax.text(p + 0.02, yi, f"{p:.1%}", va="center", fontsize=7)
        return ax

    def set_probabilities(self, classes: list[str], probabilities, true_index=None) -> None:
        """Show ``probabilities`` (one per class) for an image.

        Args:
            classes: class names in model output order.
            probabilities: sequence of floats, same length as ``classes``.
            true_index: the image's true class, when known (evaluation samples).
        """
        p = np.array(probabilities, dtype=float).ravel()   # a copy: frozen below
        if len(p) != len(classes):
            raise ValueError(f"expected {len(classes)} probabilities (one per class). "
                             f"Received: {len(p)}")
        p.setflags(write=False)   # the render thread reads it
        self.classes, self.probs, self.true_index = list(classes), p, true_index
        self.changed()

    def reset(self) -> None:
        self.classes, self.probs, self.true_index = [], None, None
        self.changed()
