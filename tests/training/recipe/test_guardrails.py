"""Guard rails: every setting that can't work is reported (or fixed) before training."""
import pytest

from tests.imagegen import make_class_folder
from tests.training.trainutil import Recorder, read, tiny_spec, tiny_transfer_spec
from training.recipe.config import TrainConfig
from training.recipe.guardrails import apply_fixes, check_setup, review


def _fields(advice):
    return {a.field for a in advice}


def test_frozen_random_backbone_is_unfrozen_with_a_note_unless_fine_tuning_follows():
    spec = tiny_transfer_spec()
    assert not spec.backbone.trainable and spec.backbone.weights == "random"
    assert "backbone.trainable" in _fields(check_setup(spec, TrainConfig()))
    fixes = apply_fixes(spec, TrainConfig())
    assert spec.backbone.trainable and fixes[0].level == "fixed" and "chance" in fixes[0].message
    assert "backbone.trainable" not in _fields(check_setup(spec, TrainConfig()))
    later = tiny_transfer_spec(fine_tune_from=100)  # a fine-tune phase unfreezes it later
    assert apply_fixes(later, TrainConfig(fine_tune_epochs=2)) == [] and not later.backbone.trainable
    imagenet = tiny_transfer_spec()
    imagenet.backbone.weights = "imagenet"
    assert apply_fixes(imagenet) == []


@pytest.mark.parametrize("config, field, words", [
    (TrainConfig(learning_rate=0.5), "learning_rate", "too high"),
    (TrainConfig(optimizer="sgd", learning_rate=5.0), "learning_rate", "too high"),
    (TrainConfig(learning_rate=1e-8), "learning_rate", "barely move"),
    (TrainConfig(fine_tune_epochs=2, fine_tune_lr=0.01), "fine_tune_lr", "higher than"),
    (TrainConfig(batch_size=500), "batch_size", "larger than the training set"),
    (TrainConfig(batch_size=1), "batch_size", "noisy"),
    (TrainConfig(epochs=1), "epochs", "rarely enough"),
    (TrainConfig(epochs=0), "epochs", "nothing would be trained"),
    (TrainConfig(epochs=5, patience=5), "patience", "never stop early"),
    (TrainConfig(epochs=1000, early_stopping=False), "epochs", "early stopping on"),
    (TrainConfig(fine_tune_epochs=3), "fine_tune_epochs", "skipped"),
])
def test_values_that_cant_work_are_warned_about(config, field, words):
    counts = {"train": {"a": 60, "b": 60}}
    advice = [a for a in check_setup(tiny_spec("cnn"), config, counts) if a.field == field]
    assert advice and words in advice[0].message


def test_defaults_and_sane_values_give_no_warning():
    assert check_setup(tiny_spec("cnn"), TrainConfig(), {"train": {"a": 500, "b": 400}}) == []
    assert check_setup(tiny_spec("cnn"), TrainConfig(optimizer="sgd", learning_rate=0.05)) == []


def test_classes_with_very_few_or_no_images_are_named():
    advice = check_setup(tiny_spec("cnn"), TrainConfig(),
                         {"train": {"cat": 50, "dog": 3, "eel": 0}})
    text = " ".join(a.message for a in advice if a.field == "classes")
    assert "dog (3)" in text and "eel" in text and "cat" not in text


def test_train_records_the_fix_and_builds_a_trainable_backbone(tmp_path):
    from training.fit.train import train

    data = make_class_folder(tmp_path / "data", per_class=4, size=32)
    # Stop as soon as the run folder exists: what matters is what was built and recorded
    # (training a whole MobileNetV2 would take minutes on a busy 2-core machine).
    events = Recorder(stop_when=lambda kind, p: kind == "status" and p.startswith("Run folder"))
    s = train(str(data), tiny_transfer_spec(), TrainConfig(epochs=1, batch_size=8), events,
              run_dir=str(tmp_path / "run"))
    assert s.status == "stopped"
    assert any(m.startswith("note: Random backbone weights can't be frozen") for m in events.statuses)
    info = read(tmp_path / "run", "run.json")
    assert any("Freeze was unticked" in w for w in info["warnings"])
    assert read(tmp_path / "run", "spec.json")["backbone"]["trainable"] is True
    from training.models import ModelSpec, build_model

    model = build_model(ModelSpec.from_dict(read(tmp_path / "run", "spec.json")), 3)
    assert model.get_layer("mobilenet_v2").trainable  # what that spec builds learns
    assert review(tiny_spec("cnn"), TrainConfig(epochs=1), None)[0].field == "epochs"
