"""Weights messages a new user met (issue 22 item 6): no "never downloads" beside a
Download button; the download box only where ImageNet weights matter; F5 refuses to start
a training the Model panel knows will fail for missing weights, and says why; the
transfer settings fit at 1280x800."""
from __future__ import annotations

import pytest
from PySide6.QtWidgets import QScrollArea

from tests.imagegen import make_class_folder
from tests.workbench.layoutcheck import clipped_labels
from tests.workbench.panels import make_window, wait_idle
from tests.workbench.test_model_assist import _open   # works on anything with a .state


@pytest.fixture
def window(qtbot, tmp_path, monkeypatch):
    monkeypatch.setenv("KERAS_HOME", str(tmp_path / "keras"))   # an empty Keras cache
    w = make_window(qtbot, tmp_path, monkeypatch, own_runs=True, size=(1280, 800))
    yield w
    w.shutdown()


def test_download_box_only_for_models_that_use_imagenet_weights(qtbot, window):
    from training.models import template

    window.show_panel("model")
    panel = window.panels["model"]
    box = panel.assist.weights_box
    for name in ("mlp", "cnn"):
        window.state.set_model_spec(template(name))
        assert not box.isVisibleTo(panel), name
    window.state.set_model_spec(template("mobilenet_v2"))
    assert box.isVisibleTo(panel)
    assert "can't start" in panel.assist.advice_label.text()   # said before F5, not after
    assert "never" not in box.info.text().lower()
    assert "only when you press" in box.info.text()
    window.state.set_model_spec(template("mobilenet_v2", weights="random"))
    assert not box.isVisibleTo(panel)
    wait_idle(qtbot, panel)


def test_f5_does_not_start_a_training_that_would_fail_for_missing_weights(qtbot, window, tmp_path):
    from training.models import template
    from workbench.actions.training_actions import start_training

    _open(window, make_class_folder(tmp_path / "data", per_class=4, size=16))
    window.state.set_model_spec(template("mobilenet_v2"))
    window.training_actions["start_training"].trigger()   # F5
    training = window.panels["train"]
    assert not training.is_training()
    assert window.current_panel_key() == "train"
    text = training.error_label.text()
    assert training.error_label.isVisibleTo(training)
    assert "Download ImageNet weights" in text and "mobilenet_v2" in text
    assert start_training(window) is False
    wait_idle(qtbot, training)


def test_transfer_settings_fit_at_1280x800(qtbot, window):
    from training.models import template

    window.show_panel("model")
    panel = window.panels["model"]
    window.state.set_model_spec(template("mobilenet_v2"))   # weights missing: the long status
    qtbot.waitUntil(lambda: panel.transfer_form.isVisibleTo(panel), timeout=10_000)
    wait_idle(qtbot, panel)
    qtbot.wait(50)
    for area in panel.findChildren(QScrollArea):
        if area.widget() is not None and area.isVisible():
            assert area.widget().minimumSizeHint().width() <= area.viewport().width()
            assert not area.horizontalScrollBar().isVisible()
    assert not clipped_labels(panel)
