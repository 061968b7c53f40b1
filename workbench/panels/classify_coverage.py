"""The Classify panel's coverage control: trade how many photos get an answer for how
often that answer is right.

A slider sets the coverage (the share of the validation images that would be answered;
the rest are "unknown, low confidence") and the run's validation risk-coverage curve
(``unknown.json``, ``training.trust.unknown``) shows the error rate that buys. The rule itself
lives in the core: this widget only holds the chosen coverage and the curve.
"""
from __future__ import annotations

import logging
import os

from PySide6.QtCore import Qt, Signal, Slot
from PySide6.QtWidgets import QHBoxLayout, QLabel, QSlider, QVBoxLayout, QWidget

from workbench.charts.risk_coverage import RiskCoverageChart
from workbench.workers.pool import run_then

log = logging.getLogger(__name__)
_MIN, _MAX = 50, 100  # percent


class CoverageControl(QWidget):
    """Slider + risk-coverage chart for the selected run's unknown rule.

    Signals:
        coverageChanged(float): the user moved the slider (0.5-1.0).
    """

    coverageChanged = Signal(float)

    def __init__(self, parent=None):
        super().__init__(parent)
        self.rule = None          # training.trust.unknown.UnknownRule of the run, or None
        self.run_dir: str | None = None
        self._loaded = None       # (run_dir, unknown.json's size and mtime) last read
        self._asked = 0           # load_run() calls: only the latest one's read is shown
        self._pending: int | None = None   # the read under way, if any
        self.title = QLabel()
        self.title.setWordWrap(True)
        self.slider = QSlider(Qt.Orientation.Horizontal)
        self.slider.setRange(_MIN, _MAX)
        self.slider.setToolTip("Lower: more photos are answered “unknown” (low confidence), "
                               "and the answers given are right more often")
        self.slider.valueChanged.connect(self._on_slider)
        self.chart = RiskCoverageChart()
        self.chart.setMinimumHeight(150)  # below that the axis labels are cut off
        row = QHBoxLayout()
        row.addWidget(QLabel("More answers"))
        row.addWidget(self.slider, 1)
        row.addWidget(QLabel("Fewer, surer"))
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.title)
        layout.addLayout(row)
        layout.addWidget(self.chart, 1)
        self._show()

    def coverage(self) -> float | None:
        """The chosen coverage, or None when the run has no rule."""
        return self.slider.value() / 100.0 if self.rule is not None else None

    def current_rule(self):
        """The run's rule at the chosen coverage (None without a rule)."""
        if self.rule is None:
            return None
        return self.rule.with_coverage(self.coverage())

    def load_run(self, run_dir: str | None) -> None:
        """Show the run's rule (``unknown.json``, a few KB; missing or damaged: no rule).

        The file is looked at and read on the app's pool and the rule shown when it is
        back (:meth:`_read`): this is called at every job's end and every change in the
        run's folder, and each ``stat`` and ``read`` on the GUI thread released the GIL and
        waited to get it back from a pool thread drawing charts (docs/BENCHMARKS.md
        section 14). Another run's rule is dropped at once, so :meth:`coverage` never
        answers for the wrong run (None meanwhile: a job then uses the rule's own).
        """
        if run_dir != self.run_dir:
            self.run_dir, self.rule, self._loaded = run_dir, None, None
            self._show()
        self._asked += 1
        if not run_dir:
            self._pending = None
            return
        # Keyed on the file's state too, not just the folder: a run shown while it trained
        # (or before it was evaluated again) gets its rule written later, in the same folder.
        known = self._loaded[1] if self._loaded is not None else None
        if run_then(self._read, read_rule, run_dir, known, self._asked):
            self._pending = self._asked

    def pending_work(self) -> bool:
        """Whether a read of the rule is under way (tests wait for it)."""
        return self._pending is not None

    def _read(self, result) -> None:
        """The pool's answer (GUI thread): show it unless a newer request was made since."""
        if result is None:   # the read failed (logged): nothing more will come
            self._pending = None
            return
        if result[0] != self._asked:
            return   # an older request than the latest: its run or file may be outdated
        self._pending = None
        _asked, run_dir, state, changed, rule = result
        if run_dir != self.run_dir or not changed or (run_dir, state) == self._loaded:
            return   # the same file as shown (or still none): nothing to redraw
        self._loaded = (run_dir, state)
        self.rule = rule
        self._show()

    def _show(self) -> None:
        rule = self.rule
        self.slider.setEnabled(rule is not None)
        if rule is None:
            self.title.setText("<b>Unknown answers</b>: this run has no rule (train or "
                               "evaluate it again to get one); every photo gets an answer.")
            self.chart.set_curve(None)
            return
        self.slider.blockSignals(True)
        self.slider.setValue(max(_MIN, min(_MAX, round(rule.coverage * 100))))
        self.slider.blockSignals(False)
        self._title()
        self.chart.set_curve(rule.risk_coverage, self.coverage())

    def _title(self) -> None:
        cov = self.coverage()
        threshold = self.rule.threshold_at(cov)
        self.title.setText(f"<b>Unknown answers</b>: below {threshold:.0%} confidence, or unlike "
                           f"the training data. Answering {cov:.0%} of the validation images.")

    @Slot(int)
    def _on_slider(self, _value: int) -> None:
        if self.rule is None:
            return
        self._title()
        self.chart.set_coverage(self.coverage())
        self.coverageChanged.emit(self.coverage())

    def shutdown(self) -> None:
        self.chart.shutdown()


def read_rule(run_dir: str, known, asked: int):
    """On a pool thread: ``(asked, run_dir, state, changed, rule)`` for ``run_dir``'s
    ``unknown.json``; ``state`` is its ``(size, mtime_ns)`` (None: no file), and the file
    is only parsed when ``state`` differs from ``known`` (``changed``; ``rule`` None
    otherwise, or when it is missing or damaged). Plain data only: no Qt here."""
    from training.runs.runfolder import UNKNOWN_JSON, RunError, read_json
    from training.trust.unknown import UnknownRule

    path = os.path.join(run_dir, UNKNOWN_JSON) if os.path.isdir(run_dir) else None
    state = _file_state(path)
    if known is not None and state == known:
        return asked, run_dir, state, False, None
    rule = None
    if state is not None:
        try:
            rule = UnknownRule.from_dict(read_json(path), path)
        except (RunError, ValueError, TypeError) as exc:
            log.warning("Ignoring %s: %s", path, exc)
    return asked, run_dir, state, True, rule


def _file_state(path: str | None):
    """``(size, mtime_ns)`` of ``path``, or None when it is missing (one stat call)."""
    try:
        st = os.stat(path) if path else None
    except OSError:
        return None
    return (st.st_size, st.st_mtime_ns) if st else None
