"""XLA where it pays over the run's length (issue 21): the rule in
``training.fit.execution`` (Dense-only models over enough planned steps, on a CPU), a real
fit that uses it with results equal to the plain step's within float tolerance, and a
resumed XLA run equal to the uninterrupted one."""
import numpy as np
import pytest

from tests.imagegen import make_class_folder
from tests.training.trainutil import Recorder, read, tiny_spec
from training.fit import execution
from training.recipe.config import TrainConfig
from training.runs.runfolder import load_model_file


def _compiled(spec, classes=3):
    from training.features.store import build_split_model
    from training.fit.session import compile_model, make_optimizer

    model, _ = build_split_model(spec, classes, False)
    compile_model(model, make_optimizer("adam", 1e-3))
    return model


def test_the_rule_takes_xla_for_dense_models_over_enough_steps_only():
    from training.models import template
    from training.models.spec import AugmentationSpec

    spec = template("mlp")
    mlp = _compiled(spec)
    assert execution.dense_only(mlp)
    assert execution.xla_pays(spec, mlp, 3 * 1875, gpu=False) is True  # the 28x28 benchmark
    assert execution.xla_pays(spec, mlp, execution.XLA_MIN_STEPS - 1, gpu=False) is False
    assert execution.xla_pays(spec, mlp, 10**6, gpu=True) is None  # Keras' "auto" on a GPU
    # Convolutions lose on a CPU (BENCHMARKS section 8): the CNN default never gets it.
    cnn_spec = template("cnn")
    cnn = _compiled(cnn_spec)
    assert not execution.dense_only(cnn)
    assert execution.xla_pays(cnn_spec, cnn, 10**6, gpu=False) is False
    # The random augmentation layers are image ops too.
    augmented = template("mlp")
    augmented.augmentation = AugmentationSpec(translation=0.1)
    assert execution.xla_pays(augmented, _compiled(augmented), 10**6, gpu=False) is False
    # Only the sizes measured: a 128x128 RGB MLP's 6.3M-weight matmul is not.
    big = template("mlp", input_size=(128, 128), color_mode="rgb")
    assert execution.dense_only(_compiled(big))
    assert execution.xla_pays(big, _compiled(big), 10**6, gpu=False) is False


def test_prepare_sets_xla_and_retraces_and_leaves_it_to_keras_when_distributed():
    from training.models import template

    model = _compiled(template("mlp"))
    assert not model.jit_compile  # Keras' "auto" on a CPU-only machine
    steps, xla = execution.prepare(template("mlp"), model, 1875, 3, gpu=False)
    assert (steps, xla) == (32, True) and model.jit_compile
    # The test step is made (without XLA) before fit() could make it with XLA.
    assert model.test_function is not None and model.train_function is None
    test_function = model.test_function
    x = np.zeros((64, 28, 28, 1), np.float32)
    y = np.zeros(64, np.int64)
    model.fit(x, y, batch_size=8, validation_data=(x, y), epochs=1, verbose=0)
    assert model.test_function is test_function  # fit() validated with it
    model.train_function = object()  # stands for a function traced with XLA on
    steps, xla = execution.prepare(template("mlp"), model, 100, 3, gpu=False)
    assert xla is False and not model.jit_compile and model.train_function is None
    model.jit_compile = True
    assert execution.prepare(template("mlp"), model, 1875, 3, gpu=False, distributed=True)[1] is None
    assert model.jit_compile  # untouched


def _data(tmp_path):
    return make_class_folder(tmp_path / "data", per_class=12, size=12)


def _config(**kw):
    base = dict(epochs=4, batch_size=8, learning_rate=0.01, lr_schedule="cosine",
                early_stopping=False, restore_best=False, seed=5)
    return TrainConfig(**{**base, **kw})


def _final_weights(run_dir):
    return load_model_file(f"{run_dir}/model_final.keras", compile=False).get_weights()


def test_a_fit_with_xla_gives_the_plain_steps_results(tmp_path, monkeypatch):
    from training.fit.train import train

    data = _data(tmp_path)
    # No dropout here: under XLA the stateless random ops pick another generator, so the
    # masks (not the arithmetic) would differ; the resume test below covers dropout.
    spec = tiny_spec("mlp", size=12, color="grayscale")
    plain_events = Recorder()
    plain = train(str(data), spec, _config(), plain_events, run_dir=str(tmp_path / "plain"))
    assert not any("XLA" in s for s in plain_events.statuses)  # 4 x 3 steps: too few

    monkeypatch.setattr(execution, "XLA_MIN_STEPS", 1)
    events = Recorder()
    fused = train(str(data), spec, _config(), events, run_dir=str(tmp_path / "xla"))
    assert fused.status == plain.status == "complete"
    assert any(s.startswith("XLA compiles the training step") for s in events.statuses)
    for a, b in zip(plain.history, fused.history):
        assert a["loss"] == pytest.approx(b["loss"], rel=1e-4, abs=1e-5)
        assert a["val_loss"] == pytest.approx(b["val_loss"], rel=1e-4, abs=1e-5)
    for x, y in zip(_final_weights(plain.run_dir), _final_weights(fused.run_dir)):
        np.testing.assert_allclose(x, y, rtol=1e-4, atol=1e-5)
    # The saved model carries Keras' own compile settings: the export parity gate passes.
    from training.export.exporter import export

    assert export(fused.run_dir, "saved_model", events=Recorder())["ok"]


def test_a_resumed_xla_run_matches_the_uninterrupted_one(tmp_path, monkeypatch):
    from training.fit.train import resume, train

    data = _data(tmp_path)
    spec = tiny_spec("mlp", size=12, color="grayscale", dropout=0.25)  # a random stream
    batches = -(-read(tmp_path / "probe", "run.json")["num_train"] // 8) if train(
        str(data), spec, _config(epochs=1), run_dir=str(tmp_path / "probe")) else 0
    # The whole phase (4 epochs) reaches the threshold, the resumed part's 2 would not.
    monkeypatch.setattr(execution, "XLA_MIN_STEPS", 4 * batches)
    whole = train(str(data), spec, _config(), Recorder(), run_dir=str(tmp_path / "whole"))
    events = Recorder(stop_when=lambda kind, p: kind == "epoch" and p["epoch"] == 2)
    first = train(str(data), spec, _config(), events, run_dir=str(tmp_path / "parts"))
    assert first.status == "stopped" and first.epochs_done == 2
    rest_events = Recorder()
    rest = resume(str(tmp_path / "parts"), rest_events)
    assert rest.status == "complete" and rest.epochs_done == 4
    # The resumed part plans the whole phase's steps, so it makes the same choice.
    assert any(s.startswith("XLA compiles") for s in rest_events.statuses)
    for a, b in zip(whole.history, rest.history):
        assert a["lr"] == pytest.approx(b["lr"], rel=1e-6)
        assert a["loss"] == pytest.approx(b["loss"], rel=1e-4, abs=1e-5)
    for x, y in zip(_final_weights(whole.run_dir), _final_weights(rest.run_dir)):
        np.testing.assert_allclose(x, y, rtol=1e-4, atol=1e-5)
