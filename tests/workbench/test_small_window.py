"""The Results panel is readable at 1024x640, the documented minimum (issue 22 item 7):
the per-class table shows every column, the gallery shows whole captions, the matrix and
the gallery do not overlap, the image's caption has room; the panel scrolls vertically
instead of cutting them. At 1920x1080 nothing scrolls."""
from pathlib import Path

import pytest

from tests.workbench.panels import make_window, wait_idle
from tests.workbench.tiny_run import tiny_run

SAMPLE = str(Path(__file__).resolve().parents[2] / "resources" / "sample")


@pytest.mark.parametrize("size", [(1024, 640), (1920, 1080)], ids=lambda s: f"{s[0]}x{s[1]}")
def test_results_parts_keep_a_readable_size(qtbot, tmp_path, monkeypatch, size):
    window = make_window(qtbot, tmp_path, monkeypatch, size=size)
    try:
        with qtbot.waitSignal(window.state.datasetChanged, timeout=30_000):
            window.open_dataset(SAMPLE)   # long class names (Ankle_boot, T-shirt_top)
        window.state.set_run(tiny_run()["run_dir"])
        window.show_panel("results")
        panel = window.panels["results"]
        qtbot.waitUntil(lambda: panel.evaluation is not None and bool(panel.gallery.items),
                        timeout=60_000)
        wait_idle(qtbot, panel)
        qtbot.wait(50)
        table = panel.per_class
        assert table.horizontalHeader().length() <= table.viewport().width() + 1   # all columns
        assert not table.horizontalScrollBar().isVisible()
        grid = panel.gallery.list
        assert grid.viewport().height() >= grid.gridSize().height()   # a whole row, captions too
        metrics, gallery_box = panel.chart_tabs.parentWidget(), panel.gallery.parentWidget()
        assert metrics.geometry().bottom() < gallery_box.geometry().top()   # no overlap
        assert metrics.height() >= metrics.minimumHeight()
        caption_box = panel.detail.caption.parentWidget().parentWidget()
        assert caption_box.height() >= 4 * panel.detail.caption.fontMetrics().lineSpacing()
        scrolls = panel.scroll.verticalScrollBar().maximum() > 0
        assert scrolls == (size[1] < 800)
        assert (window.width(), window.height()) == size
    finally:
        window.close()
