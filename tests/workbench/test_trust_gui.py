"""Trust in the GUI: the Results panel's reliability and precision-recall charts and the
per-class averages; the Classify panel's "unknown" answers on real photos and its coverage
control; the Dataset panel's class-imbalance warning."""
from __future__ import annotations

import numpy as np
import pytest

from tests.imagegen import class_image, write_image
from tests.workbench.panels import make_panel, wait_idle


@pytest.fixture(scope="module")
def run():
    from tests.trustrun import digits_run

    return digits_run()


def test_results_panel_shows_calibration_pr_curves_and_averages(qtbot, run):
    from workbench.panels.results import ResultsPanel

    panel = make_panel(qtbot, ResultsPanel, size=(1100, 700), run_dir=run["run_dir"])
    try:
        wait_idle(qtbot, panel)
        qtbot.waitUntil(lambda: panel.evaluation is not None, timeout=30_000)
        assert "ECE" in panel.header.text() and "balanced accuracy" in panel.header.text()
        labels = [panel.per_class.item(r, 0).text() for r in range(panel.per_class.rowCount())]
        assert labels[-2:] == ["Macro average", "Weighted average"] and len(labels) == 12
        tabs = [panel.chart_tabs.tabText(i) for i in range(panel.chart_tabs.count())]
        assert tabs == ["Confusion matrix", "Reliability", "Precision-recall"]
        rel, pr = panel.trust_charts.reliability, panel.trust_charts.pr_curves
        rel.draw()
        pr.draw()
        # Bars: the calibrated ones and the model's own outline, one per non-empty bin.
        filled = sum(1 for b in run["evaluation"]["calibration"]["reliability_after"] if b["count"])
        assert len(rel.ax.patches) >= filled
        assert rel.ax.get_xlabel().startswith("Confidence") and rel.ax.get_ylabel() == "Accuracy"
        assert len(pr.ax.get_lines()) == 10 and "mean AP" in pr.ax.get_title()
    finally:
        panel.shutdown()


def test_classify_panel_answers_unknown_for_photos_not_for_its_test_images(qtbot, run):
    from workbench.panels.classify import ClassifyPanel

    panel = make_panel(qtbot, ClassifyPanel, size=(1100, 700), run_dir=run["run_dir"])
    try:
        wait_idle(qtbot, panel)
        qtbot.waitUntil(lambda: panel.current_run() == run["run_dir"], timeout=30_000)
        wait_idle(qtbot, panel)   # the run's rule is read on the app's pool
        assert panel.coverage.rule is not None and panel.coverage.slider.isEnabled()
        panel.classify(run["photos"])
        wait_idle(qtbot, panel)
        photos = list(panel.results)
        assert len(photos) == len(run["photos"])
        assert np.mean([r["unknown"] for r in photos]) >= 0.8
        texts = [panel.list.item(i).text() for i in range(panel.list.count())]
        assert sum("Unknown (" in t for t in texts) == sum(r["unknown"] for r in photos)

        panel.clear_results()
        panel.classify(run["test_images"])
        wait_idle(qtbot, panel)
        own = list(panel.results)
        assert len(own) == len(run["test_images"])
        assert np.mean([r["unknown"] for r in own]) <= 0.05
        # Asking for fewer, surer answers turns more of them "unknown" (no model run).
        before = sum(r["unknown"] for r in own)
        panel.coverage.slider.setValue(60)
        after = sum(r["unknown"] for r in panel.results)
        assert after > before
        assert sum("Unknown (" in panel.list.item(i).text() for i in range(panel.list.count())) == after
        panel.coverage.chart.draw()
        assert panel.coverage.chart.ax.get_xlabel().startswith("Coverage")
    finally:
        panel.shutdown()


def test_dataset_panel_warns_about_imbalance(qtbot, tmp_path):
    from workbench.panels.dataset import DatasetPanel

    root = tmp_path / "imbalanced"
    rng = np.random.default_rng(0)
    for label, n in ((0, 40), (1, 8)):
        for i in range(n):
            write_image(root / f"class{label}" / f"{i}.png", class_image(label, 16, rng))
    panel = make_panel(qtbot, DatasetPanel, size=(1100, 700))
    try:
        panel.open_path(str(root))
        qtbot.waitUntil(lambda: panel.state.dataset is not None, timeout=60_000)
        wait_idle(qtbot, panel)
        assert panel.imbalance_label.isVisibleTo(panel)
        assert "class weights" in panel.imbalance_label.text().lower()
    finally:
        panel.shutdown()
