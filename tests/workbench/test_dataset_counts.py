"""One count everywhere on a messy folder (issue 22 item 4): the header's image count is
the class table's total, the bad-file badge is final when the background check ends (not
one more after scrolling), and a file is either used or reported, never both: the
9000x9000 JPEG trains, so it is not listed as undecodable."""
import os

from tests.hostile import make_hostile_corpus
from tests.workbench.panels import make_window, wait_idle


def _bad_paths(panel):
    model = panel.bad_model
    return [model.data(model.index(r, 0)) for r in range(model.rowCount())]


def test_counts_agree_and_a_file_is_used_or_reported(qtbot, tmp_path, monkeypatch):
    corpus = make_hostile_corpus(tmp_path / "hostile", huge=True)
    window = make_window(qtbot, tmp_path, monkeypatch, size=(1280, 800))
    try:
        data = window.panels["data"]
        with qtbot.waitSignal(window.state.datasetChanged, timeout=30_000):
            data.open_path(corpus["folder"])
        wait_idle(qtbot, data, timeout=120_000)
        index = window.state.dataset
        usable = sum(sum(c.values()) for c in index.counts().values())
        table = data.class_table
        total = sum(int(table.item(r, 4).text().replace(",", "")) for r in range(table.rowCount()))
        assert total == usable == len(corpus["good"])
        assert f"{usable:,} images" in data.info_label.text() and "checking" not in data.info_label.text()
        huge = next(p for p in corpus["good"] if p.endswith("huge_9000.jpg"))
        assert huge not in _bad_paths(data)                       # used, so not reported
        assert index.paths.index(huge) not in index.unusable
        bad = sorted(_bad_paths(data))
        assert bad == sorted(corpus["bad"])
        assert data.bad_badge.text() == f"{len(bad)} bad files"
        # Scrolling through every thumbnail (each is decoded) changes no count.
        grid = data.grid
        for row in range(data.thumbs.rowCount()):
            grid.scrollTo(data.thumbs.index(row, 0))
            qtbot.wait(5)
        wait_idle(qtbot, data, timeout=120_000)
        qtbot.wait(200)
        assert sorted(_bad_paths(data)) == bad
        assert data.bad_badge.text() == f"{len(bad)} bad files"
        assert os.path.isfile(huge)
    finally:
        window.shutdown()
