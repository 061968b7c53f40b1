"""The Model panel with real Keras summaries built in a worker thread."""
import json


from tests.workbench.panels import IDLE_MS, wait_idle, panel_fixture


panel = panel_fixture("panel", "workbench.panels.model.ModelPanel", size=(1100, 700), show=True)


def _summary_rows(panel):
    t = panel.summary
    return {t.item(r, 0).text(): (t.item(r, 2).text(), t.item(r, 3).text())
            for r in range(t.rowCount())}


def _choose(panel, key):
    i = panel.template_combo.findData(key)
    panel.template_combo.setCurrentIndex(i)
    panel.template_combo.activated.emit(i)


def test_cnn_edit_updates_summary_and_invalid_edit_is_shown(qtbot, panel):
    _choose(panel, "cnn")
    spec = panel.state.model_spec
    spec.input_size = (16, 16)
    panel.state.set_model_spec(spec)
    wait_idle(qtbot, panel)
    rows = _summary_rows(panel)
    assert rows["conv2d_0"][1] == f"{(3 * 3 * 1 + 1) * 32:,}"
    assert "Total params" in panel.totals.text()

    # Edit a layer parameter through its form widget: filters 32 -> 8.
    panel.layers.list.setCurrentRow(0)
    panel.layers.param_editor("filters").setValue(8)
    assert panel.state.model_spec.layers[0].params["filters"] == 8
    qtbot.waitUntil(lambda: _summary_rows(panel).get("conv2d_0", ("", ""))[1]
                    == f"{(3 * 3 * 1 + 1) * 8:,}", timeout=IDLE_MS)

    # An impossible pool size on the second pooling layer (16 -> 8 -> pool 16).
    pools = [i for i, l in enumerate(spec.layers) if l.type == "MaxPooling2D"]
    panel.layers.list.setCurrentRow(pools[1])
    panel.layers.param_editor("pool_size").setValue(16)
    qtbot.waitUntil(lambda: pools[1] in panel.layers.errors(), timeout=IDLE_MS)
    item = panel.layers.list.item(pools[1])
    assert item.toolTip()  # the message sits on the offending layer
    assert "can't be built" in panel.status.text()
    assert panel.totals.text() == ""

    # The app stays usable: fixing it clears the error.
    panel.layers.param_editor("pool_size").setValue(2)
    qtbot.waitUntil(lambda: not panel.layers.errors() and "OK" in panel.status.text(),
                    timeout=IDLE_MS)


def test_layer_add_remove_move(qtbot, panel):
    _choose(panel, "mlp")
    layers = panel.state.model_spec.layers
    n = len(layers)
    panel.layers.list.setCurrentRow(n - 1)
    panel.layers.add_layer("Dropout")
    assert len(layers) == n + 1 and layers[-1].type == "Dropout"
    panel.layers.move_layer(-1)
    assert layers[-2].type == "Dropout"
    panel.layers.remove_layer()
    assert len(layers) == n and all(l.type != "Dropout" for l in layers[-1:])
    wait_idle(qtbot, panel)
    assert "OK" in panel.status.text() or "classes" in panel.status.text()


def test_spec_save_load_round_trip(qtbot, panel, tmp_path):
    _choose(panel, "cnn")
    panel.layers.list.setCurrentRow(0)
    panel.layers.param_editor("kernel_size").setValue(5)
    panel.aug_form.spins["zoom"][0].setChecked(True)
    path = tmp_path / "spec.json"
    panel.save_spec(str(path))
    saved = json.loads(path.read_text())
    assert saved["layers"][0]["params"]["kernel_size"] == 5
    _choose(panel, "mlp")
    assert panel.state.model_spec.template == "mlp"
    assert panel.load_spec(str(path)) is None
    spec = panel.state.model_spec
    assert spec.template == "cnn" and spec.layers[0].params["kernel_size"] == 5
    assert spec.augmentation.zoom > 0
    assert panel.template_combo.currentData() == "cnn"
    bad = tmp_path / "bad.json"
    bad.write_text("{ not json")
    message = panel.load_spec(str(bad))
    assert message and "bad.json" in message
    assert panel.state.model_spec.template == "cnn"  # unchanged
    wait_idle(qtbot, panel)


def test_training_form_edits_config(qtbot, panel):
    panel.training_form.epochs.setValue(3)
    panel.training_form.batch.setValue(8)
    panel.training_form.early.setChecked(False)
    cfg = panel.state.train_config
    assert (cfg.epochs, cfg.batch_size, cfg.early_stopping) == (3, 8, False)
    # Class weights: balanced, manual ("cat=1, dog=3"), and bad manual text left unapplied.
    field = panel.training_form.class_weight
    field.mode.setCurrentText("Balanced")
    assert cfg.class_weight == "balanced"
    field.mode.setCurrentText("Manual")
    assert field.manual.isVisibleTo(panel)
    field.manual.setText("cat=1, dog=3")
    field.manual.editingFinished.emit()
    assert cfg.class_weight == {"cat": 1.0, "dog": 3.0}
    field.manual.setText("cat=heavy")
    field.manual.editingFinished.emit()
    assert cfg.class_weight == {"cat": 1.0, "dog": 3.0} and "cat=heavy" in field.manual.toolTip()
    # Mixed precision: "auto" by default (on a GPU only), shown and editable.
    mixed = panel.training_form.mixed
    assert cfg.mixed_precision == "auto" and mixed.currentText().startswith("auto")
    mixed.setCurrentIndex(2)
    assert cfg.mixed_precision is False and mixed.currentText() == "off"
    wait_idle(qtbot, panel)


def test_transfer_template_shows_weights_status(qtbot, panel, tmp_path, monkeypatch):
    monkeypatch.setenv("KERAS_HOME", str(tmp_path / "keras"))   # an empty weights cache
    _choose(panel, "mobilenet_v2")
    spec = panel.state.model_spec
    assert spec.backbone is not None and spec.backbone.name == "mobilenet_v2"
    assert panel.transfer_form.isVisibleTo(panel)
    panel.transfer_form.update_weights_status()
    assert "Not in the cache" in panel.transfer_form.weights_status.text()
    # The path has zero-width break points so it wraps (workbench.widgets.wrap).
    assert "mobilenet_v2_weights" in panel.transfer_form.weights_status.text().replace("\u200b", "")
    panel.transfer_form.weights.setCurrentIndex(2)
    panel.transfer_form.weights.activated.emit(2)
    assert spec.backbone.weights == "random"
    panel.transfer_form.freeze.setChecked(False)
    assert spec.backbone.trainable is True
    panel.transfer_form.fine_tune.setChecked(True)
    panel.transfer_form.fine_from.setValue(40)
    assert spec.backbone.fine_tune_from == 40
    panel.transfer_form.ft_epochs.setValue(2)
    assert panel.state.train_config.fine_tune_epochs == 2
    wait_idle(qtbot, panel, timeout=120000)
    assert "Total params" in panel.totals.text(), panel.status.text()
    # The fine-tune spin box's range is the core's backbone layer count, not 0..1000.
    from training.models import backbone_layer_count

    assert panel.transfer_form.fine_from.maximum() == backbone_layer_count(spec) < 1000


def test_optimizer_menu_and_tooltip_come_from_the_core_vocabulary(qtbot, monkeypatch):
    from training.recipe.config import OPTIMIZERS, Optimizer
    from workbench.widgets.model_forms import TrainingForm
    from workbench.widgets.setting_tips import TIPS

    assert all(name in TIPS[("training_form", "optimizer")] for name in OPTIMIZERS)
    monkeypatch.setitem(OPTIMIZERS, "adamw", Optimizer("AdamW", "decays the weights too"))
    form = TrainingForm()
    qtbot.addWidget(form)
    assert [form.optimizer.itemText(i) for i in range(form.optimizer.count())] == list(OPTIMIZERS)


def test_model_forms_menus_are_the_core_vocabularies(qtbot):
    from training.models.spec import COLOR_MODES, FLIP_MODES
    from training.recipe.config import LR_SCHEDULES
    from workbench.widgets.model_forms import AugmentationForm, InputForm, TrainingForm

    def items(combo):
        return [combo.itemText(i) for i in range(combo.count())]

    forms = [TrainingForm(), InputForm(), AugmentationForm()]
    for form in forms:
        qtbot.addWidget(form)
    training, inputs, augmentation = forms
    assert items(training.schedule) == list(LR_SCHEDULES)
    assert all(what in training.schedule.toolTip() for what in LR_SCHEDULES.values())
    assert items(inputs.color) == list(COLOR_MODES)
    assert items(augmentation.flip) == list(FLIP_MODES)


def test_layer_errors_touch_only_the_rows_whose_mark_changes(qtbot):
    # set_errors runs at every model summary: it looked up the style's error icon (~20 ms
    # the first time) and re-set every row even when there was no error to show.
    from PySide6.QtCore import Qt

    from training.models import template
    from workbench.panels.layer_editor import LayerEditor

    editor = LayerEditor()
    qtbot.addWidget(editor)
    editor.set_layers(template("cnn", input_size=(28, 28), color_mode="grayscale").layers)
    editor.set_errors({})
    assert editor._icon is None and not editor.error_label.isVisibleTo(editor)
    editor.set_errors({1: "pool too big"})
    row = editor.list.item(1)
    assert not row.icon().isNull() and row.toolTip() == "pool too big"
    assert "Layer 1: pool too big" in editor.error_label.text()
    editor.set_errors({2: "Layer 2 has no input"})
    assert row.icon().isNull() and row.toolTip() == "" and row.background().style() == Qt.BrushStyle.NoBrush
    assert editor.list.item(2).toolTip() == "Layer 2 has no input"
    assert editor.error_label.text() == "Layer 2 has no input"
    editor.set_layers(editor._layers)   # rows made anew: no marks, no stale message
    assert editor.errors() == {} and editor.list.item(2).icon().isNull()
    assert not editor.error_label.isVisibleTo(editor)
