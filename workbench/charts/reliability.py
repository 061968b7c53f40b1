"""Reliability diagram: accuracy against confidence in 15 bins, before and after calibration.

Drawn from ``evaluation.json``'s ``calibration`` entry (``training.trust.calibration``): a
perfectly calibrated model's bars follow the diagonal; bars below it mean the model's
percentages are higher than how often it is right.
"""
from __future__ import annotations

from workbench.charts.base import ChartCanvas


class ReliabilityChart(ChartCanvas):
    """Bars of per-bin accuracy after temperature scaling, with the uncalibrated outline."""

    def __init__(self, parent=None):
        self._calibration: dict | None = None
        super().__init__(parent, width=4.0, height=3.0)

    def state(self) -> dict:
        return {"calibration": self._calibration}

    def set_calibration(self, calibration: dict | None) -> None:
        """Show ``evaluation["calibration"]`` (None: the empty state)."""
        self._calibration = dict(calibration) if calibration else None
        self.changed()

    def reset(self) -> None:
        self.set_calibration(None)

    def build(self, state: dict):
        ax = self.figure.add_subplot(1, 1, 1)
        cal = state["calibration"]
        if not cal or not cal.get("reliability_after"):
            ax.set_axis_off()
            self.empty_message(ax, "Evaluate the run to see how far its percentages can be "
                                   "trusted (reliability diagram)")
            return ax
        ax.plot([0, 1], [0, 1], ls="--", color="0.5", lw=1, label="perfectly calibrated")

        def bars(key, **style):
            bins = [b for b in cal.get(key) or [] if b.get("count")]
            left = [b["lower"] for b in bins]
            width = [b["upper"] - b["lower"] for b in bins]
            return ax.bar(left, [b["accuracy"] for b in bins], width=width, align="edge", **style)

        bars("reliability_after", color="tab:blue", alpha=0.75, edgecolor="white",
             label=f"calibrated (ECE {_pct(cal.get('ece_after'))})")
        bars("reliability_before", fill=False, edgecolor="tab:red", lw=1.2,
             label=f"model's own (ECE {_pct(cal.get('ece_before'))})")
        ax.set_xlim(0, 1)
        ax.set_ylim(0, 1)
        ax.set_xlabel("Confidence (top-class probability)")
        ax.set_ylabel("Accuracy")
        ax.set_title(f"Reliability · temperature {cal.get('temperature', 1.0):.2f}", fontsize=10)
        # A framed legend stays readable where it covers bars in a small panel.
        ax.legend(loc="upper left", fontsize=6.5, framealpha=0.85)
        ax.grid(True, alpha=0.3)
        return ax


def _pct(value) -> str:
    return f"{value:.1%}" if isinstance(value, (int, float)) else "–"
