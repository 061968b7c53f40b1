"""The Results panel's Map tab on a real run (digits, a small CNN) through the real compute
service: the map renders with a legend, colour-by changes the colours, a click opens the
image in the detail view, rectangle and lasso selections fill the gallery, a selection is
relabelled through the label overlay and undone, hover shows a thumbnail, and "More like
this" lists the nearest training images."""
from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys

import numpy as np
import pytest

from tests.childcall import ROOT
from tests.workbench.panels import panel_fixture, wait_idle

panel = panel_fixture("panel", "workbench.panels.results.ResultsPanel", size=(1300, 860), show=True)


@pytest.fixture
def run(tmp_path):
    """A private copy of the digits run and of its dataset (relabels write the dataset's
    overlay; the shared one must stay untouched)."""
    from tests.trustrun import digits_run

    shared = digits_run()
    data = tmp_path / "digits"
    shutil.copytree(shared["data"], data)
    run_dir = tmp_path / "run"
    shutil.copytree(shared["run_dir"], run_dir)
    ds = json.loads((run_dir / "dataset.json").read_text())
    ds["spec"]["path"] = str(data)
    (run_dir / "dataset.json").write_text(json.dumps(ds))
    # The features and the UMAP map are computed by the CLI in a process of its own (the
    # core tests cover the service computing them): the session's one compute service is
    # not held up by UMAP's first compile, and the tab loads the map from the run folder.
    proc = subprocess.run([sys.executable, "-m", "training", "map", str(run_dir), "--out",
                           str(tmp_path / "map.csv"), "--json"], cwd=ROOT, capture_output=True,
                          text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr[-3000:]
    return {"run_dir": str(run_dir), "data": str(data)}


def test_map_view_colours_clicks_selects_relabels_and_finds_similar(qtbot, panel, run):
    from training.data import DatasetSpec, open_dataset

    spec = DatasetSpec(run["data"])
    panel.state.set_dataset(spec, open_dataset(spec))
    panel.state.set_run(run["run_dir"])
    tab = panel.map_tab
    panel.result_tabs.setCurrentWidget(tab)
    qtbot.waitUntil(lambda: tab.method == "UMAP", timeout=120_000)
    view = tab.view
    qtbot.waitUntil(lambda: not view.drawing(), timeout=10_000)
    assert view.drawn_points() == 1200
    classes = [str(c) for c in range(10)]
    drawn = view.colors()
    assert [name.split(" (")[0] for name, _ in drawn] == classes
    assert sum(n for _, n in drawn) == 1200
    assert view.plot.getPlotItem().getAxis("bottom").labelText == "UMAP 1"
    legend_names = [label.text for _, label in view.legend.items]
    assert legend_names[0].startswith("0 (")

    # Colour by correct/wrong: two groups whose sizes are the model's right and wrong answers.
    tab.color_by.setCurrentText("Correct / wrong")
    qtbot.waitUntil(lambda: not view.drawing(), timeout=10_000)
    assert view.drawn_points() == 1200
    drawn = view.colors()
    assert [name.split(" (")[0] for name, _ in drawn] == ["correct", "wrong"]
    pts = tab.points
    wrong = int((pts["predicted"] != pts["labels"]).sum())
    assert drawn[1][1] == wrong and drawn[0][1] == 1200 - wrong

    # Click: the detail view shows that image with its probabilities.
    view.click_point(7)
    assert panel.detail._item["path"] == pts["paths"][7]
    assert panel.detail._item["probabilities"] == pytest.approx(list(pts["probabilities"][7]))

    # Hover: a thumbnail next to the mouse (bench/embedding_map.py measures the latency on
    # a quiet machine; here only that it comes, and not seconds late).
    view.hover = 7
    tab._on_hover(7)
    qtbot.waitUntil(lambda: tab.hover_label.isVisible(), timeout=5000)
    assert tab.last_hover_ms is not None and tab.last_hover_ms < 1000

    # Rectangle around the class-0 points, and a lasso around the same box.
    xy = tab.xy
    zero = xy[pts["labels"] == 0]
    lo, hi = np.percentile(zero, 10, axis=0), np.percentile(zero, 90, axis=0)
    sel = view.select_shape("rectangle", np.array([lo, hi]))
    assert len(sel) > 10
    qtbot.waitUntil(lambda: not tab.gallery.pending_work(), timeout=60_000)
    assert tab.gallery.list.count() == min(len(sel), 200)
    lasso = np.array([lo, [hi[0], lo[1]], hi, [lo[0], hi[1]]])
    np.testing.assert_array_equal(view.select_shape("lasso", lasso), sel)
    assert np.mean(pts["labels"][sel] == 0) > 0.8
    wait_idle(qtbot, panel, 60_000)

    # Relabel three selected images through the overlay, then undo.
    few = sel[:3]
    tab._on_selection(few)
    paths = [pts["paths"][i] for i in few]
    tab.relabel_selection("7")
    assert [tab.fixes.label_of(p) for p in paths] == ["7"] * 3
    assert all(tab.labels[i] == 7 for i in few)
    assert tab.undo_button.isEnabled()
    tab.undo_button.click()
    assert [tab.fixes.label_of(p) for p in paths] == [classes[pts["labels"][i]] for i in few]
    assert all(tab.labels[i] == pts["labels"][i] for i in few)

    # More like this: the 12 nearest training images, not the image itself.
    view.click_point(int(few[0]))
    assert tab.similar_button.isEnabled()
    tab.similar_button.click()
    qtbot.waitUntil(lambda: "most like" in tab.gallery_note.text(), timeout=60_000)
    shown = [tab.gallery.list.item(r).data(0x0100) for r in range(tab.gallery.list.count())]
    assert tab.gallery.list.count() == 12
    assert pts["paths"][int(few[0])] not in [getattr(s, "get", lambda k: None)("path") for s in shown]
    assert np.mean(pts["labels"][tab.similar_positions] == pts["labels"][few[0]]) >= 0.5
    wait_idle(qtbot, panel, 60_000)


def test_map_tab_without_a_run_says_what_to_do(qtbot, panel):
    panel.result_tabs.setCurrentWidget(panel.map_tab)
    assert "Select a run" in panel.map_tab.placeholder.text()
    assert not panel.map_tab.similar_button.isEnabled()
    assert os.environ.get("QT_QPA_PLATFORM") == "offscreen"


def test_classify_shows_the_training_images_a_photo_resembles(qtbot, tmp_path):
    from tests.imagegen import class_image, write_image
    from tests.workbench.panels import make_panel
    from tests.workbench.tiny_run import tiny_run
    from workbench.panels.classify import ClassifyPanel

    run = tiny_run()
    p = make_panel(qtbot, ClassifyPanel, size=(1100, 700), run_dir=run["run_dir"])
    try:
        wait_idle(qtbot, p, 60_000)
        assert not p.similar.button.isEnabled()   # no photo yet
        photo = write_image(tmp_path / "fox photo.png", class_image(2, 16))
        p.classify([str(photo)])
        wait_idle(qtbot, p, 60_000)
        p.list.setCurrentRow(0)
        assert p.similar.button.isEnabled()
        p.similar.button.click()
        qtbot.waitUntil(lambda: p.similar.gallery.list.count() == 5, timeout=120_000)
        assert "resembles" in p.similar.note.text()
        captions = [p.similar.gallery.list.item(r).text() for r in range(5)]
        assert all(c.startswith(("0", "1", "2", "cat", "dog", "fox")) and "d = " in c
                   for c in captions), captions
        wait_idle(qtbot, p, 60_000)
    finally:
        p.shutdown()
