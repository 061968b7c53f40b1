"""The Results panel's trust pieces: reliability and precision-recall charts (as tabs
beside the confusion matrix), the per-class table's average rows, and the header's
calibration / balanced-accuracy / unknown-rate line.

Everything here reads an ``evaluation.json`` dict (``training.inference.evaluate``); nothing loads
files or models, so it is all cheap on the GUI thread.
"""
from __future__ import annotations

from PySide6.QtWidgets import QTabWidget

from workbench.charts.pr_curves import PRCurvesChart
from workbench.charts.reliability import ReliabilityChart


class TrustCharts:
    """The reliability diagram and the PR curves, added as tabs of ``tabs``."""

    def __init__(self, tabs: QTabWidget):
        self.reliability = ReliabilityChart()
        self.pr_curves = PRCurvesChart()
        tabs.addTab(self.reliability, "Reliability")
        tabs.setTabToolTip(tabs.count() - 1, "Accuracy against confidence: how far the "
                                             "percentages can be trusted")
        tabs.addTab(self.pr_curves, "Precision-recall")
        tabs.setTabToolTip(tabs.count() - 1, "Per-class precision-recall curves "
                                             "(one class against the rest) with average precision")

    def show_evaluation(self, evaluation: dict | None) -> None:
        evaluation = evaluation or {}
        self.reliability.set_calibration(evaluation.get("calibration"))
        self.pr_curves.set_curves(evaluation.get("pr_curves"))

    def reset(self) -> None:
        self.reliability.reset()
        self.pr_curves.reset()

    def shutdown(self) -> None:
        self.reliability.shutdown()
        self.pr_curves.shutdown()


def average_rows(evaluation: dict) -> list[dict]:
    """Rows for the per-class table after the classes: macro and weighted averages.

    Macro treats every class alike (the mean of the rows above, what imbalance hides);
    weighted weighs each class by its support (close to plain accuracy).
    """
    total = sum(int(r.get("support") or 0) for r in evaluation.get("per_class") or [])
    rows = []
    for key, label in (("macro_avg", "Macro average"), ("weighted_avg", "Weighted average")):
        avg = evaluation.get(key)
        if isinstance(avg, dict):
            rows.append({"class": label, "precision": avg.get("precision"),
                         "recall": avg.get("recall"), "f1": avg.get("f1"), "support": total,
                         "average": True})
    return rows


def trust_summary_html(evaluation: dict) -> str:
    """`` · balanced accuracy … · ECE a → b · unknown r %`` for the header (may be empty)."""
    parts = []
    bal = evaluation.get("balanced_accuracy")
    if isinstance(bal, (int, float)):
        parts.append(f"balanced accuracy {bal:.1%}")
    cal = evaluation.get("calibration") or {}
    before, after = cal.get("ece_before"), cal.get("ece_after")
    kept = (cal.get("validation") or {}).get("accepted") is False  # T = 1: not confirmed
    if isinstance(before, (int, float)) and kept:
        parts.append(f"calibration error (ECE) {before:.1%} (temperature kept at 1)")
    elif isinstance(before, (int, float)) and isinstance(after, (int, float)):
        parts.append(f"calibration error (ECE) {before:.1%} → {after:.1%}")
    unk = evaluation.get("unknown") or {}
    if isinstance(unk.get("unknown_rate"), (int, float)):
        parts.append(f"{unk['unknown_rate']:.1%} answered “unknown”")
    return "".join(f" · {p}" for p in parts)
