"""Every panel renders without clipped text at 1024x640 (the minimum supported size) and
1920x1080 (issue 11.6). Screenshots of the same states were looked at by a person; this
test keeps them from regressing."""
from pathlib import Path

import pytest

from tests.workbench.layoutcheck import clipped_labels, elided_cells
from tests.workbench.tiny_run import tiny_run
from tests.workbench.panels import make_window
from workbench.mainwindow import PANEL_KEYS

SIZES = [(1024, 640), (1920, 1080)]
SAMPLE = str(Path(__file__).resolve().parents[2] / "resources" / "sample")


@pytest.fixture(scope="module")
def run():
    return tiny_run()


@pytest.mark.parametrize("size", SIZES, ids=lambda s: f"{s[0]}x{s[1]}")
def test_no_panel_clips_text(qtbot, tmp_path, monkeypatch, run, size):
    w = make_window(qtbot, tmp_path, monkeypatch, size=size)
    try:
        with qtbot.waitSignal(w.state.datasetChanged, timeout=30000):
            w.open_dataset(SAMPLE)   # real class names (Ankle_boot, T-shirt_top)
        w.state.set_run(run["run_dir"])
        problems = {}
        for key in PANEL_KEYS:
            w.show_panel(key)
            panel = w.panels[key]
            qtbot.waitUntil(lambda p=panel: not p.pending_work(), timeout=60000)
            qtbot.wait(50)
            found = clipped_labels(panel)
            if key == "data":
                found += elided_cells(panel.class_table, [0])
            if key == "model":
                found += elided_cells(panel.summary, [0, 1, 2])
                assert panel.summary.isVisibleTo(panel) and panel.summary.width() > 150
                assert panel.layers.isVisibleTo(panel)
            if found:
                problems[key] = found
        assert not problems, problems
        widths = {k: p.minimumSizeHint().width() for k, p in w.panels.items()}
        # Nothing forced the window wider or taller than asked.
        assert (w.width(), w.height()) == size, widths
    finally:
        w.close()


@pytest.mark.parametrize("size", [(330, 210), (900, 700)])
def test_confusion_counts_never_overlap(qtbot, size):
    import numpy as np

    from workbench.charts.confusion import ConfusionChart

    chart = ConfusionChart()
    qtbot.addWidget(chart)
    chart.resize(*size)
    chart.show()
    rng = np.random.default_rng(0)
    m = rng.integers(0, 150, (10, 10))
    chart.set_matrix(m, [f"class_{i}" for i in range(10)])
    chart.draw()
    renderer = chart.figure.canvas.get_renderer()
    boxes = [t.get_window_extent(renderer) for t in chart.texts]
    for i, a in enumerate(boxes):
        for b in boxes[i + 1:]:
            assert not a.overlaps(b), "two counts overlap"
    if size[0] >= 900:
        assert len(chart.texts) == 100   # big enough: every count is shown
    chart.shutdown()


def test_messages_wrap_and_can_be_copied(qtbot, tmp_path, monkeypatch):
    from PySide6.QtCore import Qt

    w = make_window(qtbot, tmp_path, monkeypatch, show=False)
    try:
        qtbot.waitUntil(lambda: all(not w.panels[k].pending_work() for k in PANEL_KEYS),
                        timeout=60000)
        labels = {"data": ["error_label"], "model": ["status"], "train": ["status_label",
                  "error_label"], "results": ["header"], "classify": ["status"]}
        for key, names in labels.items():
            for name in names:
                label = getattr(w.panels[key], name)
                assert label.wordWrap(), f"{key}.{name}"
                assert label.textInteractionFlags() & Qt.TextInteractionFlag.TextSelectableByMouse, \
                    f"{key}.{name}"
    finally:
        w.close()


def test_model_summary_comes_back_after_a_narrow_window(qtbot, tmp_path, monkeypatch):
    monkeypatch.setenv("WORKBENCH_SETTINGS_DIR", str(tmp_path / "settings"))
    from tests.workbench.panels import make_panel
    from workbench.panels.model import ModelPanel

    for _session in range(2):   # the second one restores what the first saved
        p = make_panel(qtbot, ModelPanel, size=(900, 600), show=True)
        qtbot.waitUntil(lambda p=p: p.summary.isVisibleTo(p), timeout=5000)
        p.resize(1700, 900)
        qtbot.waitUntil(lambda p=p: p.summary.width() > 300 and p.layers.width() > 200,
                        timeout=5000)
        p.save_settings()
        p.shutdown()
