"""Results panel on a real tiny run: metrics, confusion matrix, per-class table, galleries,
cell filtering, the large view and Evaluate."""
import json
import os
import shutil

import numpy as np
import pytest

from tests.workbench.chartclick import click_data_point
from tests.workbench.panels import wait_idle, panel_fixture
from tests.workbench.tiny_run import tiny_run
from workbench.panels.results import CELL, MOST_INCORRECT
from workbench.panels.results_runs import PathRole


@pytest.fixture
def run():
    return tiny_run()


panel = panel_fixture("panel", "workbench.panels.results.ResultsPanel", size=(1300, 800))


def _idle(qtbot, panel, timeout=60_000):
    wait_idle(qtbot, panel, timeout)


def test_empty_panel_has_a_hint(qtbot, panel):
    _idle(qtbot, panel)
    assert "Train a model to see results here" in panel.header.text()


def test_run_shows_matrix_table_and_most_incorrect(qtbot, panel, run):
    with open(os.path.join(run["run_dir"], "evaluation.json"), encoding="utf-8") as f:
        ev = json.load(f)
    # The gallery is filled on a later pass of the event loop than the evaluation's
    # header, charts and tables: in one callback they held the GUI thread 20-30 ms.
    filled = []
    real_set_items = panel.gallery.set_items
    panel.gallery.set_items = lambda items, *a, **k: (
        filled.append((len(items), panel.header.text(), panel._loader.busy())),
        real_set_items(items, *a, **k))
    panel.show()   # thumbnails are decoded for a gallery on screen
    panel.state.set_run(run["run_dir"])
    _idle(qtbot, panel)
    assert [(n, loading) for n, _header, loading in filled] == [(len(ev["most_incorrect"]), False)]
    assert f"{ev['accuracy']:.1%}" in filled[0][1]   # the header came first
    # Accuracy in the header, matching the evaluation.
    assert f"{ev['accuracy']:.1%}" in panel.header.text()
    # Confusion matrix: image data and annotations equal the evaluation's counts.
    m = np.array(ev["confusion_matrix"])
    panel.confusion.draw()
    assert [int(t.get_text()) for t in panel.confusion.texts] == m.ravel().tolist()
    shown = np.asarray(panel.confusion.image.get_array())
    rows = m.sum(axis=1, keepdims=True)
    np.testing.assert_allclose(shown, m / np.maximum(rows, 1))
    # Per-class table: one row per class with the evaluation's numbers, then the averages.
    assert panel.per_class.rowCount() == len(ev["classes"]) + 2
    assert panel.per_class.item(len(ev["classes"]), 0).text() == "Macro average"
    for r, row in enumerate(ev["per_class"]):
        assert panel.per_class.item(r, 0).text() == row["class"]
        assert panel.per_class.item(r, 4).text() == str(row["support"])
    # Most-incorrect gallery: the evaluation's wrong predictions, in red, with thumbnails.
    assert ev["most_incorrect"], "the confused evaluation must have wrong predictions"
    assert panel.gallery_choice.currentIndex() == MOST_INCORRECT
    g = panel.gallery
    assert g.list.count() == len(ev["most_incorrect"])
    first = g.list.item(0)
    want = ev["most_incorrect"][0]
    assert f"True: {want['true_class']}" in first.text() and f"Pred: {want['pred_class']}" in first.text()
    assert first.foreground().color().red() > first.foreground().color().green()
    assert not first.icon().pixmap(32, 32).toImage().pixelColor(16, 16).name() == "#ebebeb"
    # The runs list shows the run (and sorts by any column); selecting several overlays
    # their curves; selecting an image shows the probability chart.
    copy = os.path.join(os.path.dirname(run["run_dir"]), "zz_copy_of_tiny_run")
    if not os.path.isdir(copy):
        shutil.copytree(run["run_dir"], copy)
    panel.runs.refresh()
    _idle(qtbot, panel)
    table = panel.runs.table
    paths = [table.item(r, 0).data(PathRole) for r in range(table.rowCount())]
    assert run["run_dir"] in paths and copy in paths
    for column in range(table.columnCount()):
        table.sortItems(column)
    table.selectAll()
    panel.runs.compare.draw()
    with_curves = [r for r in panel.runs.runs if r.get("curve")]
    assert len(with_curves) >= 2 and len(panel.runs.compare.lines) == len(with_curves)
    panel.runs.select_run(run["run_dir"])
    g.list.setCurrentRow(0)
    _idle(qtbot, panel)
    panel.detail.chart.draw()
    probs = [b.get_width() for b in panel.detail.chart.bars]
    assert np.isclose(sum(probs), 1.0, atol=1e-3)
    assert panel.detail._pixmap is not None


def test_clicking_a_cell_filters_the_gallery(qtbot, panel, run):
    panel.state.set_run(run["run_dir"])
    _idle(qtbot, panel)
    ev = panel.evaluation
    m = np.array(ev["confusion_matrix"])
    t, p = map(int, np.argwhere(m > 0)[0])
    # A real click at that cell's centre.
    chart = panel.confusion
    chart.draw()
    click_data_point(qtbot, chart, p, t)
    assert panel.gallery_choice.currentIndex() == CELL
    _idle(qtbot, panel)
    items = panel.gallery.items
    assert len(items) == m[t, p]
    assert all(i["true_index"] == t and i["pred"] == ev["classes"][p] for i in items)
    assert f"true {ev['classes'][t]}" in panel.gallery_note.text()


def test_evaluate_button_for_a_run_without_evaluation(qtbot, panel, run, tmp_path):
    import shutil

    copy = tmp_path / "copy_run"
    shutil.copytree(run["run_dir"], copy)
    os.remove(copy / "evaluation.json")
    panel.state.set_run(str(copy))
    _idle(qtbot, panel)
    assert "press <b>Evaluate</b>" in panel.header.text()
    assert panel.evaluate_button.isEnabled()
    assert "press Evaluate" in panel.gallery.hint.text()
    panel.evaluate_button.click()
    _idle(qtbot, panel, timeout=90_000)
    assert os.path.isfile(copy / "evaluation.json")
    panel.confusion.draw()
    assert panel.evaluation is not None and panel.confusion.texts


def test_gallery_makes_a_long_list_in_slices(qtbot):
    """200 entries in one go held the GUI thread 15-30 ms when a run's evaluation arrived:
    the first ones are made at once, the rest between other events, and what arrives
    for an entry before it is made (its thumbnail, an "unknown" badge) is not lost."""
    from training.data.index import DatasetIndex
    from workbench.widgets import image_gallery
    from workbench.widgets.image_gallery import FIRST_ROWS, ImageGallery
    from workbench.widgets.unknown_badge import SHORT_LINE

    n = 200
    arrays = np.repeat(np.arange(n, dtype=np.uint8)[:, None, None], 8, 1).repeat(8, 2)
    paths = [f"/data/idx/train-images#{i}" for i in range(n)]
    index = DatasetIndex(root="/data/idx", kind="idx", classes=["a", "b"], paths=paths,
                         labels=np.zeros(n, np.int32), splits=np.full(n, 2, np.uint8),
                         arrays=arrays)
    gallery = ImageGallery()
    gallery.resize(600, 400)
    gallery.show()
    qtbot.addWidget(gallery)
    items = [{"path": p, "true": "a", "pred": "b", "prob": 0.5, "correct": False} for p in paths]
    gallery.set_items(items, index)
    assert gallery.list.count() == FIRST_ROWS < n and gallery.pending_work()
    assert gallery.list.currentRow() == 0
    gallery.update_items({paths[150]: {"unknown_reason": "low confidence"}})   # not made yet
    qtbot.waitUntil(lambda: not gallery.pending_work(), timeout=20_000)
    assert gallery.list.count() == n
    assert SHORT_LINE in gallery.list.item(150).text()
    for row in (5, 180):   # thumbnails decoded before or after their entry was made
        img = gallery.list.item(row).icon().pixmap(88, 88).toImage()
        assert abs(img.pixelColor(img.width() // 2, img.height() // 2).red() - row) <= 2
    # A newer list replaces one still being made: nothing of the old one is appended.
    gallery.set_items(items[:FIRST_ROWS + 40], index)
    gallery.set_items(items[100:130], index)
    qtbot.waitUntil(lambda: not gallery.pending_work(), timeout=20_000)
    qtbot.wait(50)
    assert gallery.list.count() == 30
    assert [gallery.list.item(r).data(image_gallery.ItemRole)["path"] for r in (0, 29)] == [
        paths[100], paths[129]]
    gallery.shutdown()


def _gray_index(n: int):
    """An IDX-like index whose image ``i`` is the gray level ``i``, 8x8 pixels."""
    from training.data.index import DatasetIndex

    arrays = np.repeat(np.arange(n, dtype=np.uint8)[:, None, None], 8, 1).repeat(8, 2)
    paths = [f"/data/idx/train-images#{i}" for i in range(n)]
    return paths, DatasetIndex(root="/data/idx", kind="idx", classes=["a", "b"], paths=paths,
                               labels=np.zeros(n, np.int32), splits=np.full(n, 2, np.uint8),
                               arrays=arrays)


def _center_gray(gallery, row: int) -> int:
    img = gallery.list.item(row).icon().pixmap(88, 88).toImage()
    return img.pixelColor(img.width() // 2, img.height() // 2).red()


def test_a_hidden_gallery_decodes_nothing_until_it_is_shown(qtbot):
    """A gallery on a page the user is not looking at (Results while training from the
    Dataset panel) makes its entries but decodes no thumbnail and no large image: that
    took pool threads beside the GUI thread when a run ended (docs/BENCHMARKS.md section
    14). The page switch that shows it starts the decode, and the thumbnails arrive."""
    from PySide6.QtWidgets import QLabel, QStackedWidget, QVBoxLayout, QWidget

    from workbench.widgets.image_detail import ImageDetail
    from workbench.widgets.image_gallery import ImageGallery

    paths, index = _gray_index(40)
    stack = QStackedWidget()
    qtbot.addWidget(stack)
    stack.addWidget(QLabel("another panel"))
    page = QWidget()
    gallery, detail = ImageGallery(), ImageDetail()
    layout = QVBoxLayout(page)
    layout.addWidget(gallery)
    layout.addWidget(detail)
    stack.addWidget(page)
    stack.resize(700, 700)
    stack.show()
    items = [{"path": p, "true": "a", "pred": "b", "prob": 0.5, "correct": False} for p in paths]
    gallery.set_items(items, index)
    detail.show_item({"path": paths[30], "caption": "thirty"}, ["a", "b"], index)
    checked = []
    gallery.when_shown("check", lambda: checked.append(len(gallery.items)))
    qtbot.wait(400)   # far longer than decoding 40 8x8 images takes
    assert gallery.list.count() == len(items)   # the entries are there, with their captions
    assert gallery.decode_waiting() and detail.preview_waiting() and not checked
    assert not gallery.pending_work() and not detail.pending_work()   # nothing runs for it
    assert {_center_gray(gallery, r) for r in (5, 30)} == {0xEB}   # still the blank
    assert detail.image_label.pixmap().isNull()
    # Newer items replace what waited: only their decode and their companions' work run.
    gallery.set_items(items[10:], index)
    gallery.when_shown("check", lambda: checked.append(len(gallery.items)))
    stack.setCurrentWidget(page)
    qtbot.waitUntil(lambda: not gallery.pending_work() and not detail.pending_work(), timeout=20_000)
    assert not gallery.decode_waiting() and not detail.preview_waiting()
    assert checked == [30]
    assert abs(_center_gray(gallery, 5) - 15) <= 2 and abs(_center_gray(gallery, 20) - 30) <= 2
    assert not detail.image_label.pixmap().isNull()
    # Shown, new items decode at once.
    gallery.set_items(items[:3], index)
    assert not gallery.decode_waiting() and gallery.pending_work()
    qtbot.waitUntil(lambda: not gallery.pending_work(), timeout=20_000)
    assert abs(_center_gray(gallery, 2) - 2) <= 2
    gallery.shutdown()
    detail.shutdown()


def test_gallery_thumbnails_from_array_dataset_and_missing_images(qtbot):
    """IDX/npz samples ("<file>#<row>") come from the loaded index's arrays; a sample that
    can't be found keeps its caption and says why in the tooltip."""
    from training.data.index import DatasetIndex
    from workbench.widgets.image_gallery import ImageGallery

    arrays = np.zeros((2, 8, 8), np.uint8)
    arrays[1] = 255
    index = DatasetIndex(root="/data/idx", kind="idx", classes=["a", "b"],
                         paths=["/data/idx/train-images#0", "/data/idx/train-images#1"],
                         labels=np.array([0, 1], np.int32), splits=np.array([2, 2], np.uint8),
                         arrays=arrays)
    gallery = ImageGallery()
    qtbot.addWidget(gallery)
    gallery.show()   # a hidden gallery decodes nothing
    items = [{"path": "/data/idx/train-images#1", "true": "b", "pred": "a", "prob": 0.9,
              "correct": False},
             {"path": "/elsewhere/t10k-images#7", "true": "a", "pred": "a", "prob": 0.8,
              "correct": True}]
    gallery.set_items(items, index)
    qtbot.waitUntil(lambda: not gallery.pending_work(), timeout=10_000)
    white = gallery.list.item(0).icon().pixmap(88, 88).toImage()
    assert white.width() > 0
    assert white.pixelColor(white.width() // 2, white.height() // 2).name() == "#ffffff"
    assert "True: a" in gallery.list.item(1).text()
    assert "image not available" in gallery.list.item(1).toolTip()
    assert gallery.list.item(1).foreground().color().green() > 100
    gallery.shutdown()
