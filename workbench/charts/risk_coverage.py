"""Risk-coverage curve of the validation split: answer fewer images, be wrong less often.

Drawn from the run's ``unknown.json`` (``training.trust.unknown``): the x axis is the share of
images answered (the rest are "unknown, low confidence"), the y axis the error rate among
those answered. The chosen coverage is marked.
"""
from __future__ import annotations

from workbench.charts.base import ChartCanvas


class RiskCoverageChart(ChartCanvas):
    """The validation risk-coverage curve with the current coverage marked."""

    def __init__(self, parent=None):
        self._curve: dict | None = None
        self._coverage: float | None = None
        super().__init__(parent, width=3.6, height=2.2)
        self.setMinimumSize(200, 120)

    def state(self) -> dict:
        return {"curve": self._curve, "coverage": self._coverage}

    def set_curve(self, curve: dict | None, coverage: float | None = None) -> None:
        self._curve = dict(curve) if curve and curve.get("coverage") else None
        self._coverage = coverage
        self.changed()

    def set_coverage(self, coverage: float | None) -> None:
        self._coverage = coverage
        self.changed()

    def build(self, state: dict):
        ax = self.figure.add_subplot(1, 1, 1)
        curve, cov = state["curve"], state["coverage"]
        if not curve:
            ax.set_axis_off()
            self.empty_message(ax, "This run has no unknown rule: train or evaluate it again "
                                   "to see its risk-coverage curve")
            return ax
        xs, ys = curve["coverage"], curve["risk"]
        ax.plot(xs, ys, color="tab:blue", lw=1.5, label="validation risk-coverage")
        if cov is not None:
            risk = next((r for c, r in zip(xs, ys) if c >= cov - 1e-9), ys[-1])
            ax.axvline(cov, color="tab:orange", lw=1, ls="--")
            ax.plot([cov], [risk], "o", color="tab:orange",
                    label=f"answer {cov:.0%}: {risk:.1%} wrong")
        ax.set_xlim(0, 1)
        ax.set_ylim(0, max(0.05, max(ys) * 1.15))
        ax.set_xlabel("Coverage (share answered)", fontsize=7)
        ax.set_ylabel("Error rate", fontsize=7)
        ax.tick_params(labelsize=7)
        ax.legend(loc="upper left", fontsize=7, frameon=False)
        ax.grid(True, alpha=0.3)
        return ax
