"""The Model panel's Auto choice, guard-rail warnings, augmentation preview and
ImageNet-weights download box, with real workers (Keras, a local HTTP server)."""
import socket

import numpy as np
import pytest

from tests.imagegen import class_image, make_class_folder, write_image
from tests.weights_server import served, write_weights_like
from tests.workbench.panels import make_panel, run_job, wait_idle


@pytest.fixture
def panel(qtbot, tmp_path, monkeypatch):
    monkeypatch.setenv("WORKBENCH_SETTINGS_DIR", str(tmp_path / "settings"))
    monkeypatch.setenv("KERAS_HOME", str(tmp_path / "keras"))
    from workbench.panels.model import ModelPanel

    p = make_panel(qtbot, ModelPanel, size=(1100, 700), show=True)
    yield p
    p.shutdown()


def _open(panel, root):
    from training.data import DatasetSpec, open_dataset

    spec = DatasetSpec(str(root))
    panel.state.set_dataset(spec, open_dataset(spec))


def _choose(panel, key):
    i = panel.template_combo.findData(key)
    panel.template_combo.setCurrentIndex(i)
    panel.template_combo.activated.emit(i)


def test_auto_is_the_default_and_follows_the_data_with_its_reasons(qtbot, panel, tmp_path):
    assert panel.template_combo.currentData() == "auto"
    gray = tmp_path / "gray"
    for label, name in enumerate(("a", "b", "c")):
        for i in range(8):
            write_image(gray / name / f"{i}.png", class_image(label, 20, channels=1))
    _open(panel, gray)
    qtbot.waitUntil(lambda: panel.state.model_spec.input_size == (20, 20), timeout=30_000)
    spec = panel.state.model_spec
    assert spec.color_mode == "grayscale" and spec.name == "auto_cnn"
    assert "BatchNormalization" in [layer.type for layer in spec.layers]
    assert panel.template_combo.currentData() == "auto"
    qtbot.waitUntil(lambda: "training images" in panel.template_desc.text(), timeout=30_000)
    assert "20×20" in panel.template_desc.text()
    wait_idle(qtbot, panel)
    # The preview shows 3 originals + 4 random versions each, differing from the originals.
    assert panel.assist.preview.image_count() == 3 * 5
    _choose(panel, "mlp")   # a template: no Auto text any more
    assert "training images" not in panel.template_desc.text()
    wait_idle(qtbot, panel)


def test_auto_sets_the_epochs_from_the_data_unless_the_person_chose_them(qtbot, panel, tmp_path,
                                                                          monkeypatch):
    import dataclasses

    from training.recipe.config import TrainConfig
    from training.recipe.epoch_budget import default_epochs

    import workbench.panels.model_assist as assist_module
    from tests.workbench.pausing import patched_job

    # A few dozen images: ~15 epochs (the images budget alone, no step minimum). Auto runs
    # in the compute service: patched there.
    monkeypatch.setattr("training.recipe.epoch_budget.EPOCH_IMAGES", 300)
    monkeypatch.setattr("training.recipe.epoch_budget.MIN_STEPS", 0)
    monkeypatch.setattr(assist_module, "AutoChoiceJob", patched_job(
        assist_module.AutoChoiceJob, {"training.recipe.epoch_budget:EPOCH_IMAGES": 300,
                                      "training.recipe.epoch_budget:MIN_STEPS": 0}))
    panel.state.set_train_config(TrainConfig())
    for root, size in ((tmp_path / "a", 12), (tmp_path / "b", 14)):
        for label, name in enumerate(("x", "y")):
            for i in range(10):
                write_image(root / name / f"{i}.png", class_image(label, size, channels=1))
    _open(panel, tmp_path / "a")
    qtbot.waitUntil(lambda: panel.state.model_spec.input_size == (12, 12), timeout=30_000)
    n = sum(panel.state.dataset.counts()["train"].values())
    assert panel.state.train_config.epochs == default_epochs(n) != TrainConfig().epochs
    assert f"{default_epochs(n)} epochs" in panel.template_desc.text()
    # The person's own number stays when another dataset is chosen.
    panel.state.set_train_config(dataclasses.replace(panel.state.train_config, epochs=7))
    _open(panel, tmp_path / "b")
    qtbot.waitUntil(lambda: panel.state.model_spec.input_size == (14, 14), timeout=30_000)
    assert panel.state.train_config.epochs == 7
    wait_idle(qtbot, panel)


def test_autos_epochs_stay_autos_after_a_restart(qtbot, tmp_path, monkeypatch):
    """The training settings are saved on exit. Auto's number for the last dataset came
    back as if the person had typed it, so the next dataset trained that many epochs
    (200, a tiny set's, for a big one) and the panel said "You set 200 epochs instead"."""
    import dataclasses

    from training.recipe.config import TrainConfig
    from workbench.appstate.session_restore import save_session
    from workbench.appstate.settings import Settings
    from workbench.panels.model import ModelPanel

    import workbench.panels.model_assist as assist_module
    from tests.workbench.pausing import patched_job

    monkeypatch.setenv("WORKBENCH_SETTINGS_DIR", str(tmp_path / "settings"))
    monkeypatch.setenv("KERAS_HOME", str(tmp_path / "keras"))
    monkeypatch.setattr(assist_module, "AutoChoiceJob", patched_job(
        assist_module.AutoChoiceJob, {"training.recipe.epoch_budget:EPOCH_IMAGES": 300,
                                      "training.recipe.epoch_budget:MIN_STEPS": 0}))
    sizes = {tmp_path / "small": 12, tmp_path / "big": 14}   # a new choice shows as its size
    for root, per_class in ((tmp_path / "small", 10), (tmp_path / "big", 40)):
        for label, name in enumerate(("x", "y")):
            for i in range(per_class):
                write_image(root / name / f"{i}.png", class_image(label, sizes[root], channels=1))

    def app_session(dataset, epochs=None):
        """A panel as a fresh window makes it (settings read back), Auto on ``dataset``,
        optionally the person's own epochs, then the settings saved as on exit."""
        panel = make_panel(qtbot, ModelPanel, size=(1100, 700), show=True)
        try:
            before = panel.state.train_config.epochs
            _open(panel, dataset)
            side = sizes[dataset]
            qtbot.waitUntil(lambda: panel.state.model_spec.input_size == (side, side),
                            timeout=30_000)
            if epochs is not None:
                panel.state.set_train_config(dataclasses.replace(panel.state.train_config,
                                                                 epochs=epochs))
            seen = (before, panel.state.train_config.epochs, panel.template_desc.text())
            save_session(Settings(), panel.state)
            wait_idle(qtbot, panel)
        finally:
            panel.shutdown()
        return seen

    first, small_epochs, _ = app_session(tmp_path / "small")
    assert first == TrainConfig().epochs and small_epochs != first
    # The next session: the small set's number comes back, and Auto replaces it.
    restored, big_epochs, text = app_session(tmp_path / "big")
    assert restored == small_epochs and big_epochs not in (small_epochs, TrainConfig().epochs)
    assert "You set" not in text
    # The person's own number survives a restart, and the panel names it.
    app_session(tmp_path / "big", epochs=7)
    restored, epochs, text = app_session(tmp_path / "small")
    assert restored == 7 and epochs == 7 and "You set 7 epochs" in text


def test_augmentation_preview_follows_the_toggles(qtbot, panel, tmp_path):
    from workbench.compute.requests import AugPreviewJob

    root = make_class_folder(tmp_path / "d", per_class=4, size=16)
    _open(panel, root)
    wait_idle(qtbot, panel)
    box, _spin = panel.aug_form.spins["translation"]
    box.setChecked(False)   # everything off: the preview says how to turn it on
    panel.aug_form.flip.setCurrentText("none")
    assert not panel.state.model_spec.augmentation.enabled
    assert "Augmentation is off" in panel.assist.preview.note.text()
    assert panel.assist.preview.image_count() == 0
    panel.aug_form.flip.setCurrentText("horizontal")
    qtbot.waitUntil(lambda: panel.assist.preview.image_count() == 15, timeout=60_000)
    wait_idle(qtbot, panel)
    # What the grid shows: flipped copies (each random version is the original or its mirror).
    outcome, result = run_job(qtbot, AugPreviewJob(panel.state.dataset, {"flip": "horizontal"}, (16, 16), "rgb"))
    assert outcome == "finished", result
    for orig, variants in zip(result["originals"], result["variants"]):
        for v in variants:
            assert np.array_equal(v, orig) or np.array_equal(v, orig[:, ::-1])
        assert any(not np.array_equal(v, orig) for v in variants) or np.array_equal(orig, orig[:, ::-1])


def test_guard_rails_untick_freeze_for_random_weights_and_warn(qtbot, panel, tmp_path):
    _open(panel, make_class_folder(tmp_path / "d", per_class=4, size=16))
    _choose(panel, "mobilenet_v2")
    wait_idle(qtbot, panel)
    form = panel.transfer_form
    assert form.freeze.isChecked()
    form.weights.setCurrentIndex(2)
    form.weights.activated.emit(2)   # "Random"
    assert panel.state.model_spec.backbone.weights == "random"
    assert panel.state.model_spec.backbone.trainable and not form.freeze.isChecked()
    assert "Freeze was unticked" in panel.assist.advice_label.text()
    form.freeze.setChecked(True)     # ticking it again is refused the same way
    assert not form.freeze.isChecked() and panel.state.model_spec.backbone.trainable

    panel.training_form.lr.setValue(0.5)
    panel.training_form.batch.setValue(1000)
    text = panel.assist.advice_label.text()
    assert "too high" in text and "larger than the training set" in text
    assert "Very few training images" in text   # 4 per class
    wait_idle(qtbot, panel)
    qtbot.waitUntil(lambda: "warnings above" in panel.status.text(), timeout=60_000)
    panel.training_form.lr.setValue(0.001)
    assert "too high" not in panel.assist.advice_label.text()
    panel.training_form.schedule.setCurrentText("cosine")
    assert panel.state.train_config.lr_schedule == "cosine"
    wait_idle(qtbot, panel)


@pytest.fixture
def box(qtbot, tmp_path, monkeypatch):
    monkeypatch.setenv("KERAS_HOME", str(tmp_path / "keras"))
    from workbench.widgets.weights_box import WeightsBox

    b = WeightsBox()
    qtbot.addWidget(b)
    b.show()
    yield b   # kept alive until its jobs' deferred deletes have run
    b.shutdown()


def test_weights_box_downloads_from_a_local_server_and_reports_offline(qtbot, box, tmp_path):
    assert "about 9 MB" in box.info.text() and "storage.googleapis.com" in box.info.text()
    # Said in the box: MobileNetV2 has no published checksum, EfficientNetB0 has one.
    assert "not checksum-verified" in box.info.text() and "completeness" in box.info.text()
    box.set_target("efficientnet_b0", (224, 224))
    assert "checksum-verified: checked against Keras' published md5" in box.info.text()
    box.set_target(None)
    assert box.button.isEnabled()
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    box.base_url = f"http://127.0.0.1:{port}"
    box.start()
    qtbot.waitUntil(lambda: not box.busy, timeout=30_000)
    assert "offline" in box.message.text() and box.button.isEnabled()

    served_dir = tmp_path / "srv"
    served_dir.mkdir()
    name = box.file().file_name
    write_weights_like(served_dir / name, size=400_000)
    with served(served_dir) as base:
        box.base_url = base
        with qtbot.waitSignal(box.downloaded, timeout=30_000) as got:
            box.start()
        qtbot.waitUntil(lambda: not box.busy, timeout=30_000)
    assert got.args[0].endswith(name) and (tmp_path / "keras" / "models" / name).is_file()
    assert "not checksum-verified" in box.message.text()
    assert "in the Keras cache" in box.info.text() and not box.button.isEnabled()
    assert box.progress.isHidden()


def test_weights_box_shows_progress_and_cancel_keeps_nothing(qtbot, box, tmp_path):
    served_dir = tmp_path / "srv"
    served_dir.mkdir()
    write_weights_like(served_dir / box.file().file_name, size=2_000_000)
    with served(served_dir, delay=0.05) as base:   # ~0.3 MB/s: seconds to download
        box.base_url = base
        box.start()
        assert box.busy and box.cancel_button.isVisible() and not box.button.isEnabled()
        qtbot.waitUntil(lambda: " of 2.0 MB" in box.message.text(), timeout=30_000)
        assert 0 < box.progress.value() < 1000
        box.cancel()
        qtbot.waitUntil(lambda: not box.busy, timeout=30_000)
    assert "cancelled" in box.message.text()
    assert not list((tmp_path / "keras" / "models").iterdir())   # no file, no .part
    assert box.button.isEnabled() and box.cancel_button.isHidden()


def test_guard_rails_and_transfer_settings_fit_the_smallest_window(qtbot, tmp_path, monkeypatch):
    """At 1024x640 a transfer template with its guard-rail warnings fits: no label clipped
    and no horizontal scroll bar under the settings column (the weights combo made it
    ~10 px too wide)."""
    from PySide6.QtWidgets import QScrollArea

    from tests.workbench.layoutcheck import clipped_labels
    from tests.workbench.panels import make_window
    from training.recipe.config import TrainConfig
    from training.models import template

    w = make_window(qtbot, tmp_path, monkeypatch, size=(1024, 640))
    try:
        w.show_panel("model")
        w.state.set_train_config(TrainConfig(learning_rate=0.5, batch_size=4096))
        w.state.set_model_spec(template("mobilenet_v2", weights="random"))
        panel = w.panels["model"]
        qtbot.waitUntil(lambda: "too high" in panel.assist.advice_label.text(), timeout=30_000)
        for area in panel.findChildren(QScrollArea):
            if area.widget() is not None and area.isVisible():
                assert area.widget().minimumSizeHint().width() <= area.viewport().width()
        assert not clipped_labels(panel)
        wait_idle(qtbot, panel)
    finally:
        w.close()


def test_choosing_auto_after_a_template_uses_autos_epochs_and_says_so(qtbot, panel, tmp_path,
                                                                        monkeypatch):
    """Issue 22 item 8: Auto chosen after a manual template with 2 epochs kept the 2 while
    its text said "up to 30"."""
    import dataclasses

    from training.recipe.epoch_budget import default_epochs

    # Auto's choice runs in the compute service, so its epoch budget is the real one.
    root = make_class_folder(tmp_path / "d", per_class=10, size=12)
    _open(panel, root)
    wait_idle(qtbot, panel)
    _choose(panel, "cnn")
    panel.state.set_train_config(dataclasses.replace(panel.state.train_config, epochs=2))
    _choose(panel, "auto")
    qtbot.waitUntil(lambda: "epochs" in panel.template_desc.text(), timeout=30_000)
    wait_idle(qtbot, panel)
    n = sum(panel.state.dataset.counts()["train"].values())
    assert panel.state.train_config.epochs == default_epochs(n) != 2
    assert f"{default_epochs(n)} epochs" in panel.template_desc.text()
    assert panel.training_form.epochs.value() == default_epochs(n)
    # The person's own number afterwards: the text says which one training uses.
    panel.state.set_train_config(dataclasses.replace(panel.state.train_config, epochs=5))
    assert "You set 5 epochs" in panel.template_desc.text()
    wait_idle(qtbot, panel)
