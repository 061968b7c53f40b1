"""The Data health view (a tab of the Results panel): likely label errors, duplicates,
leakage between splits, class balance and outliers, each as a gallery whose images can
be relabelled, excluded or restored (right-click or keys; Edit → Undo/Redo).

The checks run in a :class:`~workbench.compute.requests.HealthJob` (the compute service) (progress, Cancel).
With a run selected its model ranks the label errors and finds near duplicates by its
features; without one, a pixel classifier and perceptual hashes do.
"""
from __future__ import annotations

import os
import time

from PySide6.QtCore import Qt, Signal, Slot
from PySide6.QtWidgets import (QCheckBox, QComboBox, QHBoxLayout, QLabel, QProgressBar, QPushButton,
                               QSizePolicy, QVBoxLayout, QWidget)

from workbench.actions.fix_menu import keys_hint
from workbench.actions.fixes import class_keys, fixes_for
from workbench.widgets.error_details import DetailsButton
from workbench.widgets.image_gallery import ImageGallery
from workbench.compute.requests import HealthJob
from workbench.workers.job_runner import JobRunner

ISSUES, EXACT, NEAR, LEAKAGE, OUTLIERS = range(5)
VIEWS = ("Likely label errors", "Exact duplicates", "Near duplicates",
         "Leakage (copies of training images in validation/test)", "Outliers (size, aspect, colour)")
LIMIT = 300
EMPTY = ("Press Check data health to look for likely label errors, duplicates, leakage "
         "between splits, class imbalance and odd images. With a run selected, its model is "
         "trained again on 4 folds to rank the label errors (minutes; Quick skips that).")
# The summary line above the gallery already says all of EMPTY: the gallery only points there.
GALLERY_EMPTY = "No check yet: the images it finds will show here."


def issue_items(report: dict) -> list[dict]:
    classes = report["classes"]
    return [{"path": it["path"], "true": it["given"], "pred": it["suggested"], "prob": it["confidence"],
             "suggested": it["suggested"],
             "correct": False, "probabilities": it.get("probabilities"),
             "true_index": classes.index(it["given"]) if it["given"] in classes else None,
             "lines": [f"Label: {it['given']}", f"Looks like: {it['suggested']}",
                       f"p = {it['confidence']:.0%} · {it['split'][:5]}"],
             "caption": f"Labelled {it['given']}, looks like {it['suggested']} "
                        f"({it['confidence']:.0%}) · {it['split']} · label quality {it['score']:.2g}"
                        f"\n{os.path.basename(it['path'])}"}
            for it in report["label_issues"]["items"][:LIMIT]]


def group_items(groups: list[dict]) -> list[dict]:
    out = []
    for k, g in enumerate(groups):
        flag = "conflicting labels" if g["conflicting_labels"] else "same class"
        for m in g["members"]:
            out.append({"path": m["path"], "true": m["label"], "pred": f"group {k + 1} · {m['split']}",
                        "correct": not g["conflicting_labels"],
                        "lines": [f"Group {k + 1}", m["label"], m["split"]],
                        "caption": f"Group {k + 1} ({len(g['members'])} images, {flag}"
                                   f"{', across splits' if g['across_splits'] else ''}): "
                                   f"{m['label']} · {m['split']}\n{os.path.basename(m['path'])}"})
            if len(out) >= LIMIT:
                return out
    return out


def leakage_items(report: dict, paths_by_row: dict) -> list[dict]:
    out = []
    for name in ("test", "validation"):
        for r in report["leakage"].get(name, {}).get("rows", [])[:LIMIT]:
            p = paths_by_row.get(r)
            if p:
                out.append({"path": p, "true": name, "pred": "copy in train", "correct": False,
                            "lines": [name, "has a copy", "in train"],
                            "caption": f"{name} image with a copy in train\n{os.path.basename(p)}"})
    return out


def outlier_items(report: dict) -> list[dict]:
    return [{"path": it["path"], "true": it["mode"], "pred": f"{it['width']}x{it['height']}",
             "correct": None, "lines": [it["mode"], f"{it['width']}x{it['height']}"],
             "caption": "; ".join(it["reasons"]) + f"\n{os.path.basename(it['path'])}"}
            for it in report["outliers"]["items"][:LIMIT]]


def time_left(elapsed: float, done: int, left: int) -> str:
    """``"about 4 min left"`` from the pace so far (``done`` units in ``elapsed`` seconds),
    or ``"estimating time left…"`` until there is enough to go on."""
    if left <= 0:
        return ""
    if done <= 0 or elapsed < 3.0:
        return "· estimating time left…"
    seconds = elapsed / done * left
    if seconds < 60:
        return f"· about {max(5, round(seconds / 5) * 5)} s left"
    if seconds < 3600:
        return f"· about {round(seconds / 60)} min left"
    return f"· about {seconds / 3600:.1f} h left"


def summary_text(report: dict) -> str:
    li, d, lk = report["label_issues"], report["duplicates"], report["leakage"]
    lines = [f"{li['num_flagged']} likely label errors ({li['method']})",
             f"Exact duplicates: {d['exact']['groups']} groups ({d['exact']['across_classes']} with "
             f"conflicting labels, {d['exact']['across_splits']} across splits) · near duplicates: "
             f"{d['near']['groups']} groups ({d['near']['across_classes']} conflicting, "
             f"{d['near']['across_splits']} across splits)"]
    for name in ("test", "validation"):
        info = lk.get(name) or {}
        if info.get("total"):
            text = f"{info['with_train_copy']} of {info['total']} {name} images have a copy in train"
            if info.get("accuracy") is not None and info.get("accuracy_without_copies") is not None:
                text += (f" ({name} accuracy {info['accuracy']:.1%}, "
                         f"{info['accuracy_without_copies']:.1%} without them)")
            lines.append(text)
    warnings = [w for info in report["balance"].values() for w in info["warnings"]]
    lines.append("Balance: " + ("; ".join(warnings) if warnings else "every split has every class, "
                                "no class 3x larger than another"))
    o = report["outliers"]
    lines.append(f"Outliers: {o.get('num_outliers', 0)} of {o['checked']} images")
    return "\n".join(lines)


class HealthView(QWidget):
    """See module docstring. ``itemSelected(dict)`` carries the clicked gallery entry."""

    itemSelected = Signal(dict)
    retrainRequested = Signal()

    def __init__(self, state, parent=None):
        super().__init__(parent)
        self.state = state
        self.run_dir: str | None = None
        self.report: dict | None = None
        self.fixes = fixes_for(state)
        self._runner = JobRunner(self)
        self.check_button = QPushButton("Check data health")
        self.check_button.clicked.connect(self.check)
        self.cancel_button = QPushButton("Cancel")
        self.cancel_button.clicked.connect(self.cancel)
        self.cancel_button.hide()
        self.retrain_button = QPushButton("Retrain with fixes")
        self.retrain_button.setToolTip("Train the selected run's model again with the same "
                                       "settings on the fixed labels; the new run appears in "
                                       "the runs list to compare with this one")
        self.retrain_button.clicked.connect(self.retrainRequested.emit)
        self.progress = QProgressBar()
        self.progress.setMaximumWidth(220)
        # Only the percentage inside the bar: what is being done, and the time left, go in
        # the status beside it (a long "what" overflowed the bar).
        self.progress.setFormat("%p%")
        self.progress.hide()
        self._phase: tuple[str, float, int] | None = None   # (what, started, done then)
        self._status_text = ""
        self.status = QLabel("")
        self.fix_count = QLabel("")
        self.fixes.changed.connect(self._update_fix_count)
        # With a run, the check trains its model 10 more times (K-fold) to rank label
        # errors: it finds far more (docs/BENCHMARKS.md section 11) but takes minutes.
        self.quick = QCheckBox("Quick")
        self.quick.setToolTip("Quick check: rank label errors on the selected run's features "
                              "instead of training its model again per fold (seconds instead of "
                              "minutes, but finds fewer label errors)")
        head = QHBoxLayout()
        head.addWidget(self.check_button)
        head.addWidget(self.quick)
        head.addWidget(self.cancel_button)
        head.addWidget(self.progress)
        head.addWidget(self.status, 1)
        # A button, not a link in the status: rich text in this label made the GUI tests
        # crash now and then (PySide6 6.11, offscreen), and the status stays plain text.
        self.error_details = DetailsButton(self)
        self.error_details.hide()
        head.addWidget(self.error_details)
        head.addWidget(self.fix_count)
        head.addWidget(self.retrain_button)
        self.summary = QLabel(EMPTY)
        self.summary.setWordWrap(True)
        self.summary.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)
        self.summary.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.view_choice = QComboBox()
        self.view_choice.addItems(VIEWS)
        self.view_choice.currentIndexChanged.connect(self._show_view)
        self.keys_hint = QLabel("")
        self.keys_hint.setStyleSheet("color: palette(mid);")
        self.accept_button = QPushButton("Accept suggestion")
        self.accept_button.setToolTip("Relabel the selected images to the class they look like "
                                      "(Enter); Ctrl+Z undoes it")
        self.accept_button.clicked.connect(self.accept_suggestions)
        # Long texts must not widen the tab past a 1024 px window: they wrap or shrink.
        for label in (self.status, self.keys_hint):
            label.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)
            label.setMinimumWidth(40)
        self.status.setWordWrap(True)
        choose = QHBoxLayout()
        choose.addWidget(QLabel("Show:"))
        choose.addWidget(self.view_choice, 1)
        choose.addWidget(self.accept_button)
        choose.addWidget(self.keys_hint)
        self.gallery = ImageGallery(GALLERY_EMPTY, thumb_side=72)
        self.gallery.enable_fixes(self.fixes)
        self.gallery.itemSelected.connect(self.itemSelected.emit)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addLayout(head)
        layout.addWidget(self.summary)
        layout.addLayout(choose)
        layout.addWidget(self.gallery, 1)
        state.datasetChanged.connect(self._on_dataset)
        self._update_fix_count()
        self._update_keys_hint()

    # -- public ----------------------------------------------------------------------
    def set_run(self, run_dir: str | None) -> None:
        self.run_dir = run_dir or None
        self._update_fix_count()

    def check(self) -> None:
        dataset = self.state.dataset_spec or self.state.dataset
        if dataset is None:
            self.status.setText("Open a dataset first (Dataset panel).")
            return
        self.check_button.setEnabled(False)
        self.cancel_button.show()
        self.progress.setRange(0, 0)
        self.progress.show()
        self._status_text, self._phase = "Checking…", None
        self.status.setText(self._status_text)
        self.error_details.hide()
        worker = HealthJob(dataset, self._run_for_dataset(),
                           retrain=False if self.quick.isChecked() else None)
        # Progress and status go through the runner too: its GUI-thread job has @Slot
        # receivers, while a cross-thread signal connected straight to this widget's
        # undecorated method crashed PySide6 at random (PYSIDE-3124, seen in the tests).
        self._runner.start(worker, finished=self._on_report, failed=self._on_failed,
                           stopped=lambda: self.status.setText("Cancelled."), done=self._on_done,
                           progress=self._on_progress, status=self._on_status)

    def accept_suggestions(self) -> None:
        """Relabel the selected likely label errors to their suggested classes (Enter)."""
        self.fixes.accept_suggestions(self.gallery.selected_suggestions())

    def cancel(self) -> None:
        self._runner.request_stop()
        self.status.setText("Cancelling…")

    def pending_work(self) -> bool:
        return self._runner.busy() or self.gallery.pending_work()

    def shutdown(self) -> None:
        self._runner.shutdown()
        self.gallery.shutdown()

    # -- internals -------------------------------------------------------------------
    def _run_for_dataset(self) -> str | None:
        """The selected run, if it was trained on this dataset's classes."""
        if not self.run_dir or self.state.dataset is None:
            return None
        from training.runs.runfolder import RunFolder

        classes = RunFolder(self.run_dir).classes()   # None when missing or unreadable
        return self.run_dir if classes == list(self.state.dataset.classes) else None

    @Slot(str)
    def _on_status(self, message: str) -> None:
        self._status_text = message
        self.status.setText(message)

    @Slot(int, int, str)   # a cross-thread signal: undecorated slots can crash PySide6 (PYSIDE-3124)
    def _on_progress(self, done: int, total: int, what: str) -> None:
        if total <= 0:
            return
        self.progress.setRange(0, total)
        self.progress.setValue(done)
        now = time.monotonic()
        if self._phase is None or self._phase[0] != what:
            self._phase = (what, now, done)
        eta = time_left(now - self._phase[1], done - self._phase[2], total - done)
        self.status.setText(f"{self._status_text} {eta}".strip())

    def _on_report(self, report: dict) -> None:
        self.report = report
        self.summary.setText(summary_text(report))
        self.status.setText(f"Checked {report['num_samples']:,} images in {report['seconds']:.0f} s"
                            + (f" with run {os.path.basename(report['run_dir'])}" if report["run_dir"] else ""))
        self._show_view()

    def _on_failed(self, message: str) -> None:
        self.status.setText(f"Data health check failed: {message}")
        self.error_details.show()

    def _on_done(self) -> None:
        self.check_button.setEnabled(True)
        self.cancel_button.hide()
        self.progress.hide()

    def _show_view(self, *_args) -> None:
        r = self.report
        if r is None:
            self.gallery.clear(GALLERY_EMPTY)
            self.accept_button.hide()
            return
        which = self.view_choice.currentIndex()
        if which == ISSUES:
            items, hint = issue_items(r), "No likely label errors found."
        elif which in (EXACT, NEAR):
            key = "exact" if which == EXACT else "near"
            items, hint = group_items(r["duplicates"][key]["items"]), f"No {key} duplicates found."
        elif which == LEAKAGE:
            rows = {it["row"]: it["path"] for g in (r["duplicates"]["exact"]["items"]
                                                     + r["duplicates"]["near"]["items"])
                    for it in g["members"]}
            items, hint = leakage_items(r, rows), "No validation or test image has a copy in train."
        else:
            items, hint = outlier_items(r), "No image differs from the rest in size, aspect or colour mode."
        self.gallery.set_items(items, self.state.dataset, empty_hint=hint)
        self.accept_button.setVisible(which == ISSUES)
        self.accept_button.setEnabled(bool(items) and which == ISSUES)

    def _update_keys_hint(self) -> None:
        classes = self.fixes.classes
        keys = f"Keys: {keys_hint(classes)}" if classes else "Keys: digits relabel"
        self.keys_hint.setText(f"{keys} · Enter accept · Del exclude · R restore · Ctrl+Z undo")
        self.keys_hint.setToolTip("Relabel keys (also shown in the right-click menu):\n"
                                  + "\n".join(f"{k}: {c}" for k, c in sorted(class_keys(classes).items())))

    def _update_fix_count(self) -> None:
        n = self.fixes.count()
        self.fix_count.setText(f"{n} fix{'es' if n != 1 else ''}" if n else "")
        self.retrain_button.setEnabled(bool(n) and bool(self.run_dir))

    def _on_dataset(self) -> None:
        self.report = None
        self.summary.setText(EMPTY)
        self._show_view()
        self._update_keys_hint()
