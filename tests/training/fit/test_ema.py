"""The weight average (training.fit.ema): what validation scores and the run keeps are the
averaged weights, model_last holds the raw ones with the average in the optimizer, and a
resumed run continues both exactly (issue 21: EMA, resume equals uninterrupted)."""
import numpy as np
import pytest

from tests.imagegen import make_class_folder
from tests.training.trainutil import Recorder, tiny_spec
from training.fit.ema import MAX_MOMENTUM, ema_momentum
from training.recipe.config import TrainConfig
from training.runs.runfolder import load_model_file


def test_the_horizon_in_epochs_becomes_a_per_step_momentum():
    assert ema_momentum(0, 100) == 0.0
    assert ema_momentum(1, 1) == 0.0  # a one-step horizon averages nothing
    assert ema_momentum(1, 4) == pytest.approx(0.75)
    assert ema_momentum(0.5, 844) == pytest.approx(1 - 1 / 422, abs=1e-4)
    assert ema_momentum(10, 10_000) == MAX_MOMENTUM


def _validation(data_dir, spec):
    from training.data import open_dataset, open_images
    from training.data.index import VALIDATION

    index = open_dataset(str(data_dir))
    with open_images(index, tuple(spec.input_size), spec.color_mode) as images:
        x, kept = images.read(images.split_rows(VALIDATION))
    return x.astype("float32"), np.asarray(index.labels)[kept]


def _loss(model, x, y) -> float:
    import keras

    p = model.predict(x, verbose=0)
    return float(keras.ops.mean(keras.losses.sparse_categorical_crossentropy(y, p)))


def _setup(tmp_path, per_class: int, epochs: int, **settings):
    """A tiny 12x12 grayscale set, a tiny CNN and a config with a one-epoch average."""
    data = make_class_folder(tmp_path / "data", per_class=per_class, size=12)
    spec = tiny_spec("cnn", size=12, color="grayscale")
    config = TrainConfig(epochs=epochs, batch_size=8, learning_rate=0.01, early_stopping=False,
                         ema_epochs=1.0, **settings)
    return data, spec, config


def test_validation_and_the_saved_model_use_the_averaged_weights(tmp_path):
    from training.fit.train import train

    data, spec, config = _setup(tmp_path, 16, 3, restore_best=False, seed=3)
    run = train(str(data), spec, config, run_dir=str(tmp_path / "run"))
    assert run.status == "complete"
    final = load_model_file(tmp_path / "run" / "model_final.keras", compile=False)
    last = load_model_file(tmp_path / "run" / "model_last.keras", compile=True)
    assert last.optimizer.use_ema and 0 < last.optimizer.ema_momentum < 1
    # model_last: raw weights, the average in its optimizer; model_final: the average.
    averages = [a.numpy() for a in last.optimizer._model_variables_moving_average]
    raw = [v.numpy() for v in last.trainable_variables]
    for avg, kept in zip(averages, [v.numpy() for v in final.trainable_variables]):
        np.testing.assert_allclose(avg, kept, rtol=1e-6, atol=1e-7)
    assert max(float(np.abs(a - r).max()) for a, r in zip(averages, raw)) > 1e-4
    # The last epoch's val_loss is the averaged model's, not the raw one's.
    x, y = _validation(data, spec)
    reported = run.history[-1]["val_loss"]
    assert _loss(final, x, y) == pytest.approx(reported, rel=1e-3, abs=1e-5)
    assert abs(_loss(last, x, y) - reported) > 1e-3 * max(1.0, reported)


def test_the_best_epoch_kept_is_the_averaged_model_that_was_validated(tmp_path):
    from training.fit.train import train

    data, spec, config = _setup(tmp_path, 16, 3, seed=4)
    run = train(str(data), spec, config, run_dir=str(tmp_path / "run"))
    best = load_model_file(tmp_path / "run" / "model_best.keras", compile=False)
    x, y = _validation(data, spec)
    assert _loss(best, x, y) == pytest.approx(run.best_val_loss, rel=1e-3, abs=1e-5)


def test_a_resumed_run_with_a_weight_average_matches_the_uninterrupted_one(tmp_path):
    from training.fit.train import resume, train

    data, spec, config = _setup(tmp_path, 12, 4, restore_best=False, seed=5)
    whole = train(str(data), spec, config, run_dir=str(tmp_path / "whole"))
    events = Recorder(stop_when=lambda kind, p: kind == "epoch" and p["epoch"] == 2)
    first = train(str(data), spec, config, events, run_dir=str(tmp_path / "parts"))
    assert first.status == "stopped" and first.epochs_done == 2
    rest = resume(str(tmp_path / "parts"))
    assert rest.status == "complete" and rest.epochs_done == 4
    for a, b in zip(whole.history, rest.history):
        assert a["val_loss"] == pytest.approx(b["val_loss"], rel=1e-4, abs=1e-5)
    wa = load_model_file(tmp_path / "whole" / "model_final.keras", compile=False).get_weights()
    wb = load_model_file(tmp_path / "parts" / "model_final.keras", compile=False).get_weights()
    for x, y in zip(wa, wb):
        np.testing.assert_allclose(x, y, rtol=1e-4, atol=1e-5)


def test_runs_saved_before_the_average_existed_resume_without_one():
    old = TrainConfig().to_dict()
    old.pop("ema_epochs")
    old["schema_version"] = 3
    assert TrainConfig.from_dict(old).ema_epochs == 0.0
    with pytest.raises(ValueError, match="ema_epochs"):
        TrainConfig(ema_epochs=-1)


def test_the_cli_option_sets_it_and_refuses_nonsense(tmp_path):
    from training.cli.main import InputError, build_parser
    from training.cli.train import train_config

    data = str(make_class_folder(tmp_path / "data", per_class=4, size=8))
    args = build_parser().parse_args(["train", data, "--epochs", "2", "--ema-epochs", "1.5"])
    assert train_config(args).ema_epochs == 1.5
    assert train_config(build_parser().parse_args(["train", data, "--epochs", "2"])).ema_epochs == 0
    with pytest.raises(InputError, match="ema_epochs"):
        train_config(build_parser().parse_args(["train", data, "--epochs", "2", "--ema-epochs", "-1"]))
