"""TrainConfig: defaults, JSON round trip and validation of bad or future files."""
import json

import pytest

from training.recipe.config import SCHEMA_VERSION, TrainConfig


def test_defaults_match_the_contract():
    c = TrainConfig()
    assert (c.epochs, c.batch_size, c.optimizer, c.learning_rate) == (30, 64, "adam", 1e-3)
    assert (c.early_stopping, c.patience, c.restore_best, c.checkpoint_best) == (True, 5, True, True)
    assert c.lr_schedule == "cosine"  # decays to ~0 over the epochs (BENCHMARKS section 8)
    assert (c.fine_tune_epochs, c.fine_tune_lr, c.seed) == (0, 1e-5, 42)
    assert (c.mixed_precision, c.feature_cache, c.schema_version) == ("auto", True, SCHEMA_VERSION)


def test_mixed_precision_is_auto_by_default_and_on_a_gpu_only():
    from training.fit.session import uses_mixed_precision

    assert [uses_mixed_precision(s, gpu=True) for s in ("auto", True, False)] == [True, True, False]
    assert [uses_mixed_precision(s, gpu=False) for s in ("auto", True, False)] == [False] * 3
    assert TrainConfig(mixed_precision="AUTO").mixed_precision == "auto"
    # Files before version 5 could only say false for "not asked for": they get the new
    # default; a file of this version keeps an explicit false.
    assert TrainConfig.from_dict({"schema_version": 2, "mixed_precision": False}).mixed_precision == "auto"
    assert TrainConfig.from_dict({"schema_version": 3, "mixed_precision": False}).mixed_precision == "auto"
    assert TrainConfig.from_dict({"schema_version": 4, "mixed_precision": False}).mixed_precision == "auto"
    assert TrainConfig.from_dict({"schema_version": 2, "mixed_precision": True}).mixed_precision is True
    assert TrainConfig.from_dict({"mixed_precision": False}).mixed_precision is False
    with pytest.raises(ValueError, match="mixed_precision='fp16'"):
        TrainConfig(mixed_precision="fp16")


def test_round_trip_through_json():
    c = TrainConfig(epochs=3, optimizer="SGD", learning_rate=0.05, patience=0, fine_tune_epochs=2)
    back = TrainConfig.from_dict(json.loads(json.dumps(c.to_dict())))
    assert back == c and back.optimizer == "sgd"


def test_missing_fields_take_defaults():
    assert TrainConfig.from_dict({"schema_version": 1, "epochs": 4}) == TrainConfig(epochs=4)
    assert TrainConfig.from_dict({"epochs": 4}).label_smoothing == 0.0


@pytest.mark.parametrize("data, words", [
    ([1, 2], "JSON object"),
    ({"schema_version": 99}, "newer version"),
    ({"schema_version": "1"}, "schema_version"),
    ({"epochs": -1}, "epochs=-1"),
    ({"epochs": 2.5}, "epochs=2.5"),
    ({"batch_size": 0}, "batch_size=0"),
    ({"optimizer": "adagrad"}, "optimizer='adagrad'"),
    ({"learning_rate": 0}, "learning_rate=0"),
    ({"early_stopping": "yes"}, "early_stopping='yes'"),
    ({"epochz": 3}, "epochz"),
    ({"label_smoothing": 1.0}, "label_smoothing=1.0"),
    ({"lr_schedule": "step"}, "lr_schedule='step'"),
])
def test_bad_configs_give_clear_errors(data, words):
    with pytest.raises(ValueError) as info:
        TrainConfig.from_dict(data)
    assert words in str(info.value)
