"""What the Results panel shows of one evaluation below the run's header: the metrics
line, the per-class table and the prediction gallery.

The per-class table lists precision, recall, F1 and support for each class, then the
macro and weighted averages (in italics, kept last when sorted by a column). The
gallery lists the most confident mistakes, a random sample, or one confusion-matrix
cell. Plain functions decide what is written and listed, from ``evaluation.json``; the
panel owns when (the gallery on a later event-loop pass after the evaluation, see
``ResultsPanel._show_evaluation``) and the unknown badges that follow.
"""
from __future__ import annotations

import os

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (QAbstractItemView, QComboBox, QHBoxLayout, QHeaderView, QLabel, QTableWidget,
                               QVBoxLayout, QWidget)

from workbench.panels.metric_item import MetricItem
from workbench.panels.results_trust import trust_summary_html
from workbench.panels.results_unknown import reason_line
from workbench.widgets.image_gallery import ImageGallery

MOST_INCORRECT, SAMPLE, CELL = 0, 1, 2
GALLERY_LIMIT = 200   # a diagonal cell can hold thousands of images; show the first ones
HEADERS = ["Class", "Prec.", "Recall", "F1", "n"]
TIPS = ("Class", "Precision: of the images predicted as this class, the share that are",
        "Recall: of this class's images, the share found",
        "F1: the harmonic mean of precision and recall", "Support: test images of this class")


def evaluation_html(evaluation: dict) -> tuple[str, str]:
    """``(metrics line, tooltip)`` for the header: accuracy, loss, size, trust summary and
    warnings; the tooltip names the skipped bad files."""
    acc, loss = evaluation.get("accuracy"), evaluation.get("loss")
    split = evaluation.get("split", "test")
    metrics = (f"<span style='font-size:14pt'>{split.capitalize()} accuracy "
               f"<b>{acc:.1%}</b></span> · loss {loss:.4f} · "
               f"{evaluation.get('num_samples', 0):,} {split} images"
               + trust_summary_html(evaluation))
    warn = "".join(f"<br><i>{w}</i>" for w in evaluation.get("warnings") or [])
    skipped = evaluation.get("bad_files") or []
    if skipped:
        # Named one by one in the Dataset panel's bad-file report (and the tooltip).
        warn += (f"<br><i>{len(skipped)} item(s) of the dataset were skipped as unreadable "
                 "or invalid (see the Dataset panel's bad-file report).</i>")
    return metrics + warn, "\n".join(f"{b.get('path')}: {b.get('reason')}" for b in skipped[:50])


def gallery_item(pred: dict, classes: list[str]) -> dict:
    """A gallery entry from one ``evaluation.json`` prediction record."""
    t, p = pred.get("true"), pred.get("pred")
    true = pred.get("true_class", classes[t] if isinstance(t, int) and t < len(classes) else t)
    predicted = pred.get("pred_class", classes[p] if isinstance(p, int) and p < len(classes) else p)
    prob = pred.get("confidence")
    unknown = pred.get("unknown_reason")  # the run's rule, at evaluation (training.trust.unknown)
    return {"path": pred.get("path", ""), "true": true, "pred": predicted, "prob": prob,
            "correct": t == p, "probabilities": pred.get("probabilities"), "true_index": t,
            "unknown_reason": unknown,
            "caption": f"True: {true} · Predicted: {predicted}"
                       + (f" ({prob:.1%})" if isinstance(prob, (int, float)) else "")
                       + f"\n{os.path.basename(str(pred.get('path', '')))}"
                       + (f"\n{reason_line(unknown)}" if unknown else "")}


def gallery_records(evaluation: dict, which: int, cell: tuple[int, int] | None,
                    classes: list[str]) -> tuple[list[dict], str, str]:
    """``(records, empty hint, note)`` for the gallery choice ``which``; for ``CELL`` with
    no cell chosen, no records and the hint to click one."""
    if which == MOST_INCORRECT:
        records = evaluation.get("most_incorrect") or []
        hint = "No wrong predictions: every evaluated image was classified correctly."
        note = "wrong predictions, most confident first"
    elif which == SAMPLE:
        records = evaluation.get("random_sample") or []
        hint, note = "No predictions to show.", "a random sample of predictions"
    elif cell is None:
        return [], "Click a cell of the confusion matrix to see its images.", ""
    else:
        t, p = cell
        records = [r for r in evaluation.get("predictions") or [] if r.get("true") == t
                   and r.get("pred") == p]
        # Most confident first: for a wrong cell, the worst mistakes lead.
        records.sort(key=lambda r: -(r.get("confidence") if isinstance(
            r.get("confidence"), (int, float)) else -1.0))
        hint = f"No images are of class {classes[t]} predicted as {classes[p]}."
        note = f"true {classes[t]} → predicted {classes[p]}, most confident first"
    total = len(records)
    if total > GALLERY_LIMIT:
        note += f" (first {GALLERY_LIMIT} of {total:,})"
    elif total:
        note += f" ({total})"
    return records[:GALLERY_LIMIT], hint, note


class GalleryBox(QWidget):
    """The "Gallery:" choice, its note, and the thumbnails below them.

    Attributes:
        choice: most incorrect / sample / selected cell (indices as the constants above).
        note: what is listed, and how many.
        gallery: the :class:`ImageGallery`.
    """

    def __init__(self, empty_hint: str, parent=None) -> None:
        super().__init__(parent)
        self.choice = QComboBox()
        self.choice.addItems(["Most incorrect", "Sample predictions", "Selected cell"])
        self.note = QLabel("")
        self.gallery = ImageGallery(empty_hint)
        row = QHBoxLayout()
        row.addWidget(QLabel("Gallery:"))
        row.addWidget(self.choice)
        row.addWidget(self.note, 1)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addLayout(row)
        layout.addWidget(self.gallery)
        # One row of thumbnails with their captions stays readable; below that the
        # panel scrolls.
        self.setMinimumHeight(self.gallery.list.gridSize().height() + 60)


class PerClassTable(QTableWidget):
    """See module docstring."""

    def __init__(self, parent=None) -> None:
        super().__init__(0, len(HEADERS), parent)
        # Short headers (tooltips say them in full) and compact rows: every column shows
        # in the ~270 px a 1024 px window leaves it; the class name takes the rest, elided.
        self.setHorizontalHeaderLabels(HEADERS)
        for c, tip in enumerate(TIPS):
            self.horizontalHeaderItem(c).setToolTip(tip)
        self.verticalHeader().setVisible(False)
        self.verticalHeader().setDefaultSectionSize(self.fontMetrics().height() + 6)
        self.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        header = self.horizontalHeader()
        header.setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        header.setSectionResizeMode(0, QHeaderView.ResizeMode.Stretch)
        header.setMinimumSectionSize(30)
        self.setWordWrap(False)
        self.setMinimumWidth(220)

    def fill(self, rows) -> None:
        """Show ``rows`` (evaluation.json's ``per_class`` list, or a ``{class: {...}}``
        dict), in their order until a header is clicked."""
        if isinstance(rows, dict):  # {class: {...}} form
            rows = [dict(v, **{"class": k}) for k, v in rows.items()]
        self.setSortingEnabled(False)   # while filling (rows would move under us)
        self.setRowCount(len(rows))
        for r, row in enumerate(rows):
            values = [str(row.get("class", r)), _f(row.get("precision")), _f(row.get("recall")),
                      _f(row.get("f1")), str(row.get("support", ""))]
            keys = [str(row.get("class", r)), row.get("precision"), row.get("recall"),
                    row.get("f1"), row.get("support")]
            for c, text in enumerate(values):
                item = MetricItem(text, keys[c], bool(row.get("average")))
                if c:
                    item.setTextAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
                if row.get("average"):  # the macro/weighted rows under the classes
                    font = item.font()
                    font.setItalic(True)
                    item.setFont(font)
                self.setItem(r, c, item)
        # Shown in the evaluation's order until a header is clicked; averages stay last.
        self.horizontalHeader().setSortIndicator(-1, Qt.SortOrder.AscendingOrder)
        self.setSortingEnabled(True)


def _f(value) -> str:
    return f"{value:.3f}" if isinstance(value, (int, float)) else "-"
