"""Honest status lines (issue 11.11): the line under the progress bar follows training,
the header names the resumed run's settings, dropped files are counted with a link to the
report, Classify adds photos to its list (with Clear), and the CSV has the face count."""
import csv
import json
import os
import shutil

import pytest

from tests.imagegen import class_image, make_class_folder, write_image
from tests.workbench.panels import make_panel, wait_idle
from tests.workbench.tiny_run import tiny_run


@pytest.fixture
def training_panel(qtbot, tmp_path):
    from training.data import open_dataset
    from workbench.panels.training import TrainingPanel

    p = make_panel(qtbot, TrainingPanel, size=(1000, 700))
    root = make_class_folder(tmp_path / "data", per_class=8, size=8)
    (root / "cat" / "broken.png").write_bytes(b"\x89PNG\r\n\x1a\n not really")
    p.state.set_dataset(None, open_dataset(str(root)))
    yield p
    p.shutdown()


def test_status_follows_training_and_dropped_files_are_counted(qtbot, training_panel):
    from training.recipe.config import TrainConfig

    p = training_panel
    p.state.set_train_config(TrainConfig(epochs=2, batch_size=8))
    seen = []
    p.progress.valueChanged.connect(lambda _v: seen.append(p.status_label.text()))
    p.start_training()
    wait_idle(qtbot, p)
    during = [t for t in seen if t]
    assert any(t.startswith("Training: epoch 1 of 2") for t in during), during
    assert not any(t.startswith("Decoding") for t in during[len(during) // 2:])
    assert p.bad_files_label.isVisibleTo(p)
    assert "1 file could not be read" in p.bad_files_label.text()
    assert "See the report" in p.bad_files_label.text()


def test_header_shows_the_resumed_runs_epochs(qtbot, training_panel, tmp_path):
    from training.recipe.config import TrainConfig

    p = training_panel
    run_dir = tmp_path / "stopped"
    shutil.copytree(tiny_run()["run_dir"], run_dir)
    cfg = json.loads((run_dir / "config.json").read_text())
    cfg["epochs"] = 20
    (run_dir / "config.json").write_text(json.dumps(cfg))
    p.state.set_train_config(TrainConfig(epochs=10))
    p._resume_config = None
    assert "10 epochs" in p._setup_text()
    from workbench.panels.training_bad_files import read_run_config

    p._resume_config = read_run_config(str(run_dir))
    p.runner.current_busy = lambda: True   # as while the resumed run trains
    try:
        assert "20 epochs" in p._setup_text() and "10 epochs" not in p._setup_text()
    finally:
        del p.runner.current_busy


def test_classify_adds_photos_clear_and_faces_in_csv(qtbot, tmp_path):
    from workbench.panels.classify import ClassifyPanel
    from workbench.appstate.state import AppState

    state = AppState()
    state.run_dir = tiny_run()["run_dir"]
    panel = make_panel(qtbot, ClassifyPanel, state, size=(1100, 700))
    try:
        wait_idle(qtbot, panel)
        a = write_image(tmp_path / "a.png", class_image(0, 16))
        b = write_image(tmp_path / "b.png", class_image(1, 16))
        panel.faces_box.setChecked(True)
        panel.classify([str(a)])
        wait_idle(qtbot, panel)
        panel.classify([str(b), str(a)])   # adds b; a is already listed
        wait_idle(qtbot, panel)
        assert sorted(os.path.basename(r["path"]) for r in panel.results) == ["a.png", "b.png"]
        assert panel.list.count() == 2
        out = tmp_path / "out.csv"
        panel.export_csv(str(out))
        with open(out, encoding="utf-8-sig", newline="") as f:
            rows = list(csv.DictReader(f))
        assert [r["faces"] for r in rows] == ["0", "0"]
        assert panel.clear_button.isEnabled()
        panel.clear_button.click()
        assert panel.results == [] and panel.list.count() == 0
    finally:
        panel.shutdown()
