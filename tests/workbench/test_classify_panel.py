"""Classify panel with a real saved run: probabilities, top-3, bad files, CSV, faces."""
import csv
import os

import numpy as np
import pytest

from tests.imagegen import class_image, write_image
from tests.workbench.panels import make_panel, wait_idle
from tests.workbench.tiny_run import tiny_run
from workbench.panels.classify import ClassifyPanel
from workbench.appstate.state import AppState


@pytest.fixture
def run():
    return tiny_run()


@pytest.fixture
def panel(qtbot, run):
    # Shown, as in the app: a hidden panel's large view decodes nothing until it is shown.
    p = make_panel(qtbot, ClassifyPanel, size=(1100, 700), run_dir=run["run_dir"], show=True)
    yield p
    p.shutdown()


def _idle(qtbot, panel, timeout=60_000):
    wait_idle(qtbot, panel, timeout)


def test_classify_files_and_folder_export_csv(qtbot, panel, run, tmp_path):
    _idle(qtbot, panel)
    assert panel.current_run() == run["run_dir"]
    assert panel.open_button.isEnabled() and not panel.export_button.isEnabled()
    photos = tmp_path / "photos"
    good = write_image(photos / "fox photo é.png", class_image(2, 16))
    write_image(photos / "sub" / "dog.jpg", class_image(1, 40))
    bad = photos / "broken.jpg"
    bad.write_text("not an image", encoding="utf-8")
    panel.classify([str(photos)])
    _idle(qtbot, panel)
    assert len(panel.results) == 2 and len(panel.bad) == 1
    assert panel.bad_list.count() == 1 and "broken.jpg" in panel.bad_list.item(0).text()
    assert panel.bad_list.isVisibleTo(panel)
    by_name = {os.path.basename(r["path"]): r for r in panel.results}
    fox = by_name[good.name]
    assert np.isclose(sum(fox["probabilities"]), 1.0, atol=1e-4)
    assert len(fox["top_k"]) == 3 and fox["top_k"][0][1] >= fox["top_k"][1][1]
    item_texts = [panel.list.item(i).text() for i in range(panel.list.count())]
    assert any(t.startswith(good.name) and t.count("%") == 3 for t in item_texts)
    # The first photo is shown large with its probability chart.
    assert panel.list.currentRow() == 0
    panel.detail.chart.draw()
    widths = [b.get_width() for b in panel.detail.chart.bars]
    assert len(widths) == 3 and np.isclose(sum(widths), 1.0, atol=1e-3)
    assert panel.detail._pixmap is not None

    out = tmp_path / "out.csv"
    panel.export_csv(str(out))
    with open(out, encoding="utf-8-sig", newline="") as f:
        rows = list(csv.DictReader(f))
    assert len(rows) == 3
    assert {os.path.basename(r["path"]) for r in rows} == {good.name, "dog.jpg", "broken.jpg"}
    assert [r for r in rows if r["path"].endswith("broken.jpg")][0]["error"]


def test_face_detection_on_a_photo_without_faces(qtbot, panel, tmp_path):
    _idle(qtbot, panel)
    panel.faces_box.setChecked(True)
    photo = write_image(tmp_path / "scene.png", class_image(0, 120))
    panel.classify([str(photo)])
    _idle(qtbot, panel)
    from workbench.panels.classify import ResultRole

    row = panel.list.item(0).data(ResultRole)
    assert row["faces"] == []
    assert "No human face found" in panel.detail.caption.text()


def test_detect_faces_runs_on_any_image_mode():
    from training.inference.faces import detect_faces

    # Synthetic images hold no faces; the detector must run and say so, on any mode.
    assert detect_faces(np.zeros((100, 100, 3), np.uint8)) == []
    assert detect_faces(np.full((60, 80), 128, np.uint8)) == []
    assert detect_faces(np.zeros((10, 10, 3), np.uint8)) == []


def test_unsafe_model_is_refused_with_a_message(qtbot, tmp_path):
    """A run whose model needs unsafe deserialisation (a Lambda layer) is refused."""
    import json
    import shutil

    run = tiny_run()
    bad_run = tmp_path / "unsafe_run"
    shutil.copytree(run["run_dir"], bad_run)
    from tests.childcall import call_in_child

    call_in_child("tests.workbench.tfhelpers:save_lambda_model", str(bad_run))
    state = AppState()
    state.run_dir = str(bad_run)
    p = ClassifyPanel(state)
    qtbot.addWidget(p)
    _idle(qtbot, p)
    p.run_combo.addItem("unsafe", str(bad_run))
    p.run_combo.setCurrentIndex(p.run_combo.count() - 1)
    img = write_image(tmp_path / "x.png", class_image(0, 16))
    p.classify([str(img)])
    _idle(qtbot, p)
    p.shutdown()
    # The core's UnsafeModelError text reaches the user; nothing was classified.
    assert "safe" in p.status.text().lower(), p.status.text()
    assert not p.results
    json.dumps(p.bad)  # results stay plain data


def test_dropping_files_classifies_them(qtbot, panel, tmp_path):
    from PySide6.QtCore import QMimeData, QPointF, Qt, QUrl
    from PySide6.QtGui import QDropEvent

    _idle(qtbot, panel)
    photo = write_image(tmp_path / "dropped.png", class_image(1, 16))
    mime = QMimeData()
    mime.setUrls([QUrl.fromLocalFile(str(photo))])
    event = QDropEvent(QPointF(10, 10), Qt.DropAction.CopyAction, mime,
                       Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier)
    panel.dropEvent(event)
    _idle(qtbot, panel)
    assert [os.path.basename(r["path"]) for r in panel.results] == ["dropped.png"]
