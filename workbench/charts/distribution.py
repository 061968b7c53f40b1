"""Class distribution: grouped bars (one group per class, one bar per split)."""
from __future__ import annotations

import warnings

import numpy as np

from training.data.index import SPLIT_NAMES
from workbench.charts.base import ChartCanvas

# The panel fills the chart while it is hidden (zero size); that is expected, not a bug.
warnings.filterwarnings("ignore", message="constrained_layout not applied")

SPLIT_COLORS = {"train": "#4C72B0", "validation": "#DD8452", "test": "#55A868"}


class DistributionChart(ChartCanvas):
    """Images per class and split. Drawn once per dataset load, on a render thread."""

    rebuild_on_resize = True   # count / legend sizes follow the pixels

    def __init__(self, parent=None, width: float = 5.0, height: float = 3.0):
        self.counts: dict[str, dict[str, int]] = {}
        self.classes: list[str] = []
        super().__init__(parent, width=width, height=height)

    def state(self) -> dict:
        return {"counts": {s: dict(c) for s, c in self.counts.items()},
                "classes": list(self.classes)}

    def build(self, state: dict):
        ax = self.figure.add_subplot(111)
        ax.set_xlabel("Class", fontsize=9)
        ax.set_ylabel("Images", fontsize=9)
        counts, classes = state["counts"], state["classes"]
        splits = [s for s in SPLIT_NAMES
                  if sum(counts.get(s, {}).values()) > 0]
        if not classes or not splits:
            ax.set_title("Images per class and split", fontsize=10)
            self.empty_message(ax, "Open a dataset to see how many images each class has.")
            ax.set_xticks([])
            return ax
        x = np.arange(len(classes))
        width = 0.8 / len(splits)
        for i, split in enumerate(splits):
            values = [counts[split].get(c, 0) for c in classes]
            ax.bar(x + (i - (len(splits) - 1) / 2) * width, values, width,
                   label=f"{split} ({sum(values):,})", color=SPLIT_COLORS.get(split))
        ax.set_xticks(x)
        rotate = len(classes) > 4 or max(len(c) for c in classes) > 8
        ax.set_xticklabels(classes, rotation=45 if rotate else 0, ha="right" if rotate else "center",
                           fontsize=8)
        ax.tick_params(axis="y", labelsize=8)
        # Above the axes (constrained layout makes room), so it never covers a bar.
        # One row when there is room, else stacked: a clipped legend reads as "n (1,200)".
        width_px = self.figure.get_size_inches()[0] * self.figure.dpi
        ncol = len(splits) if width_px >= 110 * len(splits) else 1
        self.figure.legend(fontsize=8, frameon=False, ncol=ncol, loc="outside upper center")
        ax.grid(axis="y", alpha=0.3)
        ax.set_axisbelow(True)
        return ax

    def set_counts(self, counts: dict[str, dict[str, int]], classes: list[str]) -> None:
        """Show ``counts`` (``{split: {class: n}}``, as ``DatasetIndex.counts()``)."""
        self.counts = {s: dict(c) for s, c in counts.items()}
        self.classes = list(classes)
        self.changed()
