"""The embedding map's colourings: which group each point is in, and the legend.

Qt-free except for ``QColor``; used by the Results panel's Map tab
(``workbench.panels.results_map``).
"""
from __future__ import annotations

import numpy as np
from PySide6.QtGui import QColor

from training.data.index import SPLIT_NAMES

COLOR_BY = ("True class", "Predicted class", "Correct / wrong", "Split", "Confidence", "Unknown",
            "Label-issue score")
CONFIDENCE_BINS = (0.0, 0.5, 0.7, 0.9, 0.99, 1.01)
# Colour-blind-safe categorical colours (Okabe-Ito, then Tableau's), for up to 16 classes;
# more classes get evenly spaced hues.
PALETTE = ("#0072B2", "#E69F00", "#009E73", "#CC79A7", "#56B4E9", "#D55E00", "#F0E442",
           "#000000", "#999999", "#8C564B", "#17BECF", "#BCBD22", "#7F7F7F", "#9467BD",
           "#FF9DA7", "#2CA02C")
RAMP = ("#440154", "#3b528b", "#21918c", "#5ec962", "#fde725")   # viridis, low -> high


def class_colors(n: int) -> list[QColor]:
    if n <= len(PALETTE):
        return [QColor(c) for c in PALETTE[:n]]
    return [QColor.fromHsvF(i / n, 0.75, 0.85) for i in range(n)]


def color_groups(mode: str, pts: dict, labels: np.ndarray, issues: dict | None):
    """``(groups per point, [(legend name, QColor)], note)`` for one colouring."""
    classes = pts["classes"]
    n = len(labels)
    if mode == "True class":
        return labels, list(zip(classes, class_colors(len(classes)))), ""
    if mode == "Predicted class":
        return pts["predicted"], list(zip(classes, class_colors(len(classes)))), ""
    if mode == "Correct / wrong":
        return ((pts["predicted"] != labels).astype(int),
                [("correct", QColor("#009E73")), ("wrong", QColor("#D55E00"))], "")
    if mode == "Split":
        return pts["splits"].astype(int), list(zip(SPLIT_NAMES, class_colors(3))), ""
    if mode == "Confidence":
        g = np.clip(np.digitize(pts["confidence"], CONFIDENCE_BINS) - 1, 0, len(RAMP) - 1)
        names = [f"{a:.2f}–{min(b, 1.0):.2f}" for a, b in zip(CONFIDENCE_BINS, CONFIDENCE_BINS[1:])]
        return g, list(zip(names, map(QColor, RAMP))), "confidence of the predicted class"
    if mode == "Unknown":
        return (np.asarray(pts["unknown"]).astype(int),
                [("answered", QColor("#56B4E9")), ("unknown", QColor("#D55E00"))],
                "the run's unknown rule")
    # Label-issue score: Data health's ranking (flagged images only).
    if not issues:
        return (np.zeros(n, int), [("no score", QColor("#999999"))],
                "Run Data health (its tab) with this run to colour by label-issue score.")
    scores = np.full(n, -1.0)
    rows = {p: i for i, p in enumerate(pts["paths"])}
    for path, s in issues.items():
        if path in rows:
            scores[rows[path]] = s
    bins = (0.0, 0.25, 0.5, 0.75, 1.01)
    g = np.where(scores < 0, 0, np.clip(np.digitize(scores, bins), 1, 4))
    legend = [("not flagged", QColor("#cccccc"))] + [
        (f"flagged {a:.2f}–{min(b, 1.0):.2f}", QColor(c))
        for a, b, c in zip(bins, bins[1:], RAMP[1:])]
    return g, legend, "Data health's likely label errors"
