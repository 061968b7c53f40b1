"""Grad-CAM overlays in the image detail views (CNN run, nested MobileNetV2), and the Data
health view: planted label errors listed, relabel/exclude by key and right-click, undo and
redo, fixes saved beside the dataset, the user's files untouched."""
from __future__ import annotations

import numpy as np
import pytest
from PySide6.QtCore import Qt
from PySide6.QtTest import QTest

from tests.imagegen import make_class_folder
from tests.training.data.test_overlay import file_hashes
from tests.workbench.panels import labels_saved, make_panel, wait_idle
from tests.workbench.tiny_run import tiny_run
from workbench.widgets.path_menu import shown_path_menu


def _pixels(label) -> np.ndarray:
    img = label.pixmap().toImage()
    ptr = img.constBits()
    return np.frombuffer(ptr, np.uint8, img.sizeInBytes()).copy()


def _show_heatmap(qtbot, detail, item, classes):
    detail.show_item(item, classes)
    qtbot.waitUntil(lambda: detail._pixmap is not None, timeout=30_000)
    plain = _pixels(detail.image_label)
    detail.heatmap.toggle.setChecked(True)
    qtbot.waitUntil(lambda: detail.heatmap.current is not None or "fail" in detail.heatmap.note.text(),
                    timeout=90_000)
    assert detail.heatmap.current is not None, detail.heatmap.note.text()
    heat = detail.heatmap.current["heatmap"]
    assert heat.ndim == 2 and np.isfinite(heat).all() and heat.max() <= 1.0
    shown = _pixels(detail.image_label)
    assert shown.shape == plain.shape and not np.array_equal(shown, plain)  # drawn over the image
    detail.heatmap.opacity.setValue(0)
    assert np.array_equal(_pixels(detail.image_label), plain)  # opacity 0: the plain image
    detail.heatmap.opacity.setValue(60)
    return detail.heatmap.current


@pytest.fixture
def results(qtbot):
    from workbench.panels.results import ResultsPanel

    panel = make_panel(qtbot, ResultsPanel, size=(1100, 760), show=True)
    yield panel
    panel.shutdown()


def test_gradcam_overlay_in_results_detail_for_cnn(qtbot, results):
    run = tiny_run()
    results.load_run(run["run_dir"])
    qtbot.waitUntil(lambda: bool(results.gallery.items), timeout=60_000)
    item = results.gallery.items[0]
    out = _show_heatmap(qtbot, results.detail, item, results.classes)
    assert out["method"] == "grad-cam" and out["layer"].startswith("conv2d")
    # Another class: a new heatmap, then cached (no new job when coming back).
    results.detail.heatmap.class_choice.setCurrentIndex(2)
    qtbot.waitUntil(lambda: results.detail.heatmap.current is not None
                    and results.detail.heatmap.current["class_index"] == 1, timeout=60_000)
    results.detail.heatmap.class_choice.setCurrentIndex(0)
    assert results.detail.heatmap.current is not None   # from the cache, at once
    # The previous job's done may still be queued: wait for it, then no job may run.
    qtbot.waitUntil(lambda: not results.detail.heatmap.pending_work(), timeout=10_000)
    assert results.detail.heatmap.current["class_index"] == out["class_index"]
    wait_idle(qtbot, results)


def test_gradcam_overlay_for_nested_mobilenet_v2(qtbot, tmp_path):
    from tests.imagegen import class_image, write_image
    from tests.training.trainutil import tiny_transfer_spec
    from training.runs import runfolder
    from training.models import build_model
    from workbench.widgets.image_detail import ImageDetail

    run_dir = tmp_path / "mnv2"
    run_dir.mkdir()
    build_model(tiny_transfer_spec(), 3).save(str(run_dir / runfolder.MODEL_BEST))
    runfolder.write_json(run_dir / runfolder.CLASSES_JSON, ["a", "b", "c"])
    img = write_image(tmp_path / "x.png", class_image(1, 32))
    detail = ImageDetail()
    qtbot.addWidget(detail)
    detail.resize(400, 500)
    detail.show()
    detail.set_run(str(run_dir))
    try:
        out = _show_heatmap(qtbot, detail, {"path": str(img)}, ["a", "b", "c"])
        assert out["method"] == "grad-cam" and out["layer"].endswith("out_relu")
    finally:
        qtbot.waitUntil(lambda: not detail.pending_work(), timeout=60_000)
        detail.shutdown()


def test_health_view_fix_undo_redo(qtbot, tmp_path):
    from training.data import DatasetSpec, open_dataset
    from tests.workbench.panels import load_overlay
    from workbench.panels.health import HealthView
    from workbench.appstate.state import AppState

    root = make_class_folder(tmp_path / "data", per_class=16, size=16)
    before = file_hashes(root)
    raw = open_dataset(str(root))
    overlay = load_overlay(raw.root)
    planted = raw.paths[3]  # a cat, labelled fox
    overlay.relabel(planted, "fox")
    overlay.save()
    state = AppState()
    spec = DatasetSpec(str(root))
    state.set_dataset(spec, open_dataset(spec))
    view = make_panel(qtbot, HealthView, state=state, size=(900, 600), show=True)
    try:
        # Before a check, the summary explains it once; the empty gallery below only points
        # at it (the same paragraph twice was what a 1024x640 window showed).
        assert view.summary.text().startswith("Press Check data health")
        assert view.gallery.hint.text() and view.gallery.hint.text() != view.summary.text()
        view.check()
        qtbot.waitUntil(lambda: view.report is not None, timeout=120_000)
        wait_idle(qtbot, view)
        assert "likely label errors" in view.summary.text()
        g = view.gallery
        assert g.items and g.items[0]["path"] == planted and g.items[0]["true"] == "fox"
        fixes = view.fixes
        g.list.setFocus()
        g.list.setCurrentRow(0)
        QTest.keyClick(g.list, Qt.Key.Key_1)   # relabel to the first class, cat (its source label)
        assert load_overlay(raw.root).state(planted) == (None, False)
        assert state.dataset.labels[state.dataset.paths.index(planted)] == 0
        fixes.undo()
        assert load_overlay(raw.root).state(planted) == ("fox", False)
        fixes.redo()
        assert load_overlay(raw.root).state(planted) == (None, False)
        # Right-click: exclude, then undo.
        rect = g.list.visualItemRect(g.list.item(0))
        g.list.customContextMenuRequested.emit(rect.center())
        menu = shown_path_menu(g.list)
        exclude = next(a for a in menu.actions() if a.text() == "Exclude from training")
        exclude.trigger()
        assert load_overlay(raw.root).state(planted)[1] is True
        assert g.list.item(0).text().endswith("excluded")
        assert view.fix_count.text() == "1 fix"
        QTest.keyClick(g.list, Qt.Key.Key_R)  # restore
        assert len(load_overlay(raw.root)) == 0
        fixes.undo()
        fixes.undo()
        assert load_overlay(raw.root).state(planted) == (None, False)
        assert file_hashes(root) == before
    finally:
        view.shutdown()


def test_dataset_panel_grid_fix_count_and_changed_filter(qtbot, tmp_path):
    from training.data import open_dataset
    from workbench.panels.dataset import DatasetPanel

    root = make_class_folder(tmp_path / "data", classes=("a", "b"), per_class=4, size=8)
    before = file_hashes(root)
    panel = make_panel(qtbot, DatasetPanel, size=(1100, 700), show=True)
    try:
        with qtbot.waitSignal(panel.state.datasetChanged, timeout=20000):
            panel.open_path(str(root))
        wait_idle(qtbot, panel)
        grid = panel.grid
        first = grid.model().index(0, 0)
        grid.setFocus()
        grid.setCurrentIndex(first)
        QTest.keyClick(grid, Qt.Key.Key_2)   # a_000 -> b
        assert panel.fix_label.text() == "1 label fix"
        panel.changed_filter.setChecked(True)
        assert grid.model().rowCount() == 1
        labels_saved()
        assert open_dataset(str(root)).labels[0] == 1   # a fresh open (the CLI) sees it
        panel.state.label_fixes.undo()
        assert panel.fix_label.text() == "" and grid.model().rowCount() == 0
        panel.changed_filter.setChecked(False)
        grid.customContextMenuRequested.emit(grid.visualRect(grid.model().index(1, 0)).center())
        menu = shown_path_menu(grid)
        exclude = next(a for a in menu.actions() if a.text() == "Exclude from training")
        exclude.trigger()
        assert "1 excluded" in panel.fix_label.text()
        labels_saved()
        assert len(open_dataset(str(root))) == 7
        from workbench.actions.fixes import dataset_for_training
        assert dataset_for_training(panel.state) is panel.state.dataset_spec
        assert file_hashes(root) == before
    finally:
        panel.shutdown()


def test_retrained_run_is_compared_with_the_old_one(qtbot, results):
    import os
    import shutil

    run = tiny_run()
    copy = os.path.join(os.path.dirname(run["run_dir"]), "zz_retrained_copy")
    if not os.path.isdir(copy):
        shutil.copytree(run["run_dir"], copy)
    results.runs.refresh()
    qtbot.waitUntil(lambda: results.runs.select_paths([run["run_dir"], copy]), timeout=30_000)
    assert sorted(results.runs.selected_paths()) == sorted([run["run_dir"], copy])
    wait_idle(qtbot, results)
