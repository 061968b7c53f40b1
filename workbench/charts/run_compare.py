"""Overlay the validation-accuracy curves of several runs (seed 004's comparison)."""
from __future__ import annotations

import math

from matplotlib.ticker import MaxNLocator

from workbench.charts.base import ChartCanvas


class RunCompareChart(ChartCanvas):
    """One line per run: validation accuracy (training accuracy when no validation) per epoch."""

    def __init__(self, parent=None):
        self.runs: list[dict] = []
        super().__init__(parent, width=4.0, height=2.6)

    def state(self) -> dict:
        return {"runs": [dict(r, values=list(r.get("values") or [])) for r in self.runs]}

    @property
    def lines(self) -> list:
        """One line per plotted run (read back from the built axes)."""
        return list(self.ax.get_lines()) if self.ax is not None else []

    def build(self, state: dict):
        ax = self.figure.add_subplot(1, 1, 1)
        ax.set_xlabel("Epoch")
        ax.set_ylabel("Validation accuracy")
        ax.set_title("Compare runs", fontsize=9)
        ax.grid(True, alpha=0.3)
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        ax.set_ylim(0, 1.02)
        plotted = 0
        for run in state["runs"]:
            ys = run.get("values") or []
            if not ys:
                continue
            xs = list(range(1, len(ys) + 1))
            ax.plot(xs, ys, "o-", ms=3, label=run.get("label", "run"))
            plotted += 1
        if plotted:
            ax.set_ylim(*fit_limits([v for r in state["runs"] for v in (r.get("values") or [])]))
            ax.legend(fontsize=7, loc="lower right")
        else:
            self.empty_message(ax, "Select runs in the list to compare their curves")
        return ax

    def set_runs(self, runs: list[dict]) -> None:
        """Show ``runs``: dicts with ``label`` and ``values`` (validation accuracy per epoch)."""
        self.runs = list(runs)
        self.changed()


def fit_limits(values, floor: float = 0.0, ceiling: float = 1.0) -> tuple[float, float]:
    """Y limits around ``values`` with a margin: curves at 95-97% read apart instead of
    lying flat on a 0-1 axis. Never beyond [floor, ceiling]; at least 0.02 tall."""
    finite = [float(v) for v in values if isinstance(v, (int, float)) and math.isfinite(v)]
    if not finite:
        return floor, ceiling + 0.02
    low, high = min(finite), max(finite)
    span = max(high - low, 0.02)
    margin = 0.15 * span
    return max(floor, low - margin), min(ceiling + 0.005, high + margin)
