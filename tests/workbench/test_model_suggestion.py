"""The dataset's suggested input size applies to a new dataset only, never overwrites what
the user set, and is otherwise shown as a hint with a way to use it (issue 11.3)."""
import dataclasses


from tests.imagegen import make_class_folder
from tests.workbench.panels import panel_fixture


panel = panel_fixture("panel", "workbench.panels.model.ModelPanel", size=(1100, 700), show=True,
                      own_settings=True)


def _open(panel, root, suggestion, seed=42):
    from training.data import DatasetSpec, open_dataset

    spec = DatasetSpec(str(root), seed=seed)
    panel.state.input_suggestion = suggestion
    panel.state.set_dataset(spec, open_dataset(spec))


def _input(panel):
    spec = panel.state.model_spec
    return tuple(spec.input_size), spec.color_mode


def test_resplit_keeps_the_users_size_and_shows_the_hint(qtbot, panel, tmp_path):
    from training.models import template

    panel.state.set_model_spec(template("cnn"))
    a = make_class_folder(tmp_path / "a", classes=("x", "y"), per_class=4, size=8)
    _open(panel, a, ((20, 20), "grayscale"))
    assert _input(panel) == ((20, 20), "grayscale")   # a new dataset: the suggestion applies

    panel.input_form.height.setValue(64)
    panel.input_form.width.setValue(64)
    assert _input(panel)[0] == (64, 64)
    _open(panel, a, ((20, 20), "grayscale"), seed=7)  # same dataset, a new split
    assert _input(panel)[0] == (64, 64)
    assert panel.input_form.height.value() == 64
    assert "20 × 20" in panel.input_form.note.text()

    b = make_class_folder(tmp_path / "b", classes=("x", "y"), per_class=4, size=8)
    _open(panel, b, ((32, 32), "rgb"))                # a new dataset, but the user chose 64
    assert _input(panel)[0] == (64, 64) and "32 × 32" in panel.input_form.note.text()

    panel.input_form.note.linkActivated.emit("use-suggestion")
    assert _input(panel) == ((32, 32), "rgb") and panel.input_form.height.value() == 32


def test_untouched_size_follows_each_new_dataset(qtbot, panel, tmp_path):
    from training.models import template

    panel.state.set_model_spec(template("mlp"))
    a = make_class_folder(tmp_path / "a", classes=("x", "y"), per_class=4, size=8)
    b = make_class_folder(tmp_path / "b", classes=("x", "y"), per_class=4, size=8)
    _open(panel, a, ((20, 20), "grayscale"))
    _open(panel, b, ((32, 32), "rgb"))
    assert _input(panel) == ((32, 32), "rgb")
    spec = dataclasses.replace(panel.state.model_spec)
    assert spec.input_size == (32, 32)
