"""Precision-recall curves per class (one-vs-rest), with each class's average precision.

Drawn from ``evaluation.json``'s ``pr_curves`` (``training.trust.curves``). With many classes
only the ``_MAX_LINES`` with the lowest AP are drawn: they are the ones to look at.
"""
from __future__ import annotations

import numpy as np

from workbench.charts.base import ChartCanvas

_MAX_LINES = 12


class PRCurvesChart(ChartCanvas):
    """One precision-recall line per class; the legend gives each class's AP."""

    def __init__(self, parent=None):
        self._curves: list[dict] = []
        super().__init__(parent, width=4.0, height=3.0)

    def state(self) -> dict:
        return {"curves": list(self._curves)}

    def set_curves(self, curves) -> None:
        """Show ``evaluation["pr_curves"]`` (``[{class, precision, recall, average_precision}]``)."""
        self._curves = [dict(c) for c in curves or [] if c.get("recall")]
        self.changed()

    def reset(self) -> None:
        self.set_curves([])

    def build(self, state: dict):
        ax = self.figure.add_subplot(1, 1, 1)
        curves = state["curves"]
        if not curves:
            ax.set_axis_off()
            self.empty_message(ax, "Evaluate the run to see precision-recall curves per class")
            return ax
        aps = [c.get("average_precision") or 0.0 for c in curves]
        shown = sorted(range(len(curves)), key=lambda i: aps[i])[:_MAX_LINES]
        colours = self._colours(len(shown))
        for colour, i in zip(colours, shown):
            c = curves[i]
            # Step plot from recall 0: precision holds until the next threshold.
            ax.step([0.0, *c["recall"]], [c["precision"][0], *c["precision"]], where="pre",
                    color=colour, lw=1.2, label=f"{c['class']} (AP {aps[i]:.2f})")
        ax.set_xlim(0, 1)
        ax.set_ylim(0, 1.02)
        ax.set_xlabel("Recall")
        ax.set_ylabel("Precision")
        title = f"Precision-recall per class · mean AP {float(np.mean(aps)):.3f}"
        if len(curves) > _MAX_LINES:
            title += f" ({_MAX_LINES} lowest of {len(curves)})"
        ax.set_title(title, fontsize=10)
        ax.legend(loc="lower left", fontsize=6, framealpha=0.85, ncol=2 if len(shown) > 6 else 1)
        ax.grid(True, alpha=0.3)
        return ax

    @staticmethod
    def _colours(n: int) -> list:
        from matplotlib import colormaps

        cmap = colormaps["tab10" if n <= 10 else "tab20"]
        return [cmap(i % cmap.N) for i in range(n)]
