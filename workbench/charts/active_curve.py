"""Estimated accuracy against the number of labels: the "Label next" loop's progress.

Each point is one background round of ``training.active`` (the ``active_round`` compute
request): the suggestion model's accuracy on the labels held back from its training, with
how many were held back (few held-back labels make a noisy estimate, so the count is shown,
and a band the 90 % range that noise alone allows: ``training.active.heldback.estimate_range``).
"""
from __future__ import annotations

from workbench.charts.base import ChartCanvas


class ActiveCurveChart(ChartCanvas):
    """Estimated accuracy (held-back labels) per number of labels given."""

    def __init__(self, parent=None):
        self._points: list[dict] = []
        super().__init__(parent, width=3.4, height=2.0)
        self.setMinimumSize(200, 130)

    def state(self) -> dict:
        return {"points": [dict(p) for p in self._points]}

    def set_points(self, points: list[dict]) -> None:
        """``[{labels, accuracy, held_back}]``, one per round (accuracy None: none held back)."""
        self._points = [dict(p) for p in points]
        self.changed()

    def add_point(self, point: dict) -> None:
        self._points.append(dict(point))
        self.changed()

    def points(self) -> list[dict]:
        return [dict(p) for p in self._points]

    def build(self, state: dict):
        ax = self.figure.add_subplot(1, 1, 1)
        pts = [p for p in state["points"] if p.get("accuracy") is not None]
        if not pts:
            ax.set_axis_off()
            self.empty_message(ax, "Estimated accuracy appears here after the first "
                                   "suggestion round (label a few images of every class)")
            return ax
        from training.active.heldback import estimate_range

        xs = [p["labels"] for p in pts]
        ys = [p["accuracy"] for p in pts]
        band = [estimate_range(p["accuracy"], p["held_back"]) for p in pts]
        ax.fill_between(xs, [b[0] for b in band], [b[1] for b in band], color="tab:blue", alpha=0.15, lw=0)
        ax.plot(xs, ys, "o-", color="tab:blue", lw=1.5, ms=3)
        last = pts[-1]
        lo, hi = band[-1]
        # In the lower right corner, on a white ground: beside the last point the text
        # crossed the rising line and its band.
        ax.text(0.98, 0.04, f"{last['accuracy']:.0%} ({lo * 100:.0f}-{hi:.0%}) on {last['held_back']} held-back",
                transform=ax.transAxes, ha="right", va="bottom", fontsize=7, color="tab:blue",
                bbox={"facecolor": "white", "edgecolor": "none", "alpha": 0.8, "pad": 1})
        ax.set_ylim(0, 1.02)
        ax.set_xlim(0, max(xs) * 1.08 + 1)
        ax.set_xlabel("Labels given", fontsize=7)
        ax.set_ylabel("Estimated accuracy", fontsize=7)
        ax.tick_params(labelsize=7)
        ax.grid(True, alpha=0.3)
        return ax
