"""K-fold retraining with one traced model (training.health.folds, issue 21): the fold
models are the ones train() makes, the model is traced once for all folds, and every fold
starts from exactly the initial state a fresh train() would."""
from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from tests.training.health.test_health import make_splits
from training.data import open_dataset
from training.data.index import TEST, TRAIN
from training.health import folds as folds_mod
from training.health.labels import cross_val_retrain


@pytest.fixture(scope="module")
def small_run(tmp_path_factory):
    from tests.training.trainutil import tiny_spec
    from training.fit.train import train
    from training.recipe.config import TrainConfig

    base = tmp_path_factory.mktemp("folds_run")
    root = make_splits(base / "data", counts=(14, 6, 4))
    # A weight average, so the optimizer's averages must be reset between folds as well.
    summary = train(str(root), tiny_spec("cnn", size=16),
                    TrainConfig(epochs=2, batch_size=8, ema_epochs=1.0), run_dir=str(base / "run"))
    return open_dataset(str(root)), summary.run_dir


@pytest.mark.slow
def test_shared_model_folds_equal_train_runs(small_run, monkeypatch):
    """The same probabilities as a whole train() per fold (the path models with a backbone
    still take), over two passes: the second pass copies its seed's initial weights into the
    traced model, and every fold after the first starts from a reset one."""
    index, run_dir = small_run
    shared = cross_val_retrain(index, run_dir, folds=2, seed=0, repeats=2)
    monkeypatch.setattr(folds_mod, "can_share_model", lambda spec, config: False)
    separate = cross_val_retrain(index, run_dir, folds=2, seed=0, repeats=2)
    np.testing.assert_allclose(shared, separate, atol=1e-5)
    assert np.allclose(shared.sum(axis=1), 1.0)


def _trainer(index, run_dir):
    from training.models import ModelSpec
    from training.recipe.config import TrainConfig
    from training.runs.runfolder import RunFolder

    folder = RunFolder(run_dir)
    spec = ModelSpec.from_dict(folder.read_spec())
    config = TrainConfig.from_dict(folder.read_config())
    return folds_mod.FoldTrainer(index, spec, config), spec, config


def _fold_splits(index, k: int = 3, seed: int = 0):
    from sklearn.model_selection import StratifiedKFold

    y = np.asarray(index.labels, np.int64)
    for _, held in StratifiedKFold(k, shuffle=True, random_state=seed).split(np.zeros(len(y)), y):
        splits = np.asarray(index.splits).copy()
        splits[held] = TEST
        yield splits


def _counting(step, calls: list):
    def counted(data):  # runs in Python only while TensorFlow traces it
        calls.append(1)
        return step(data)
    return counted


def test_one_trace_for_every_fold_and_exact_resets(small_run):
    """Keras traces the train step once for all folds of all passes (a new model per fold
    traced it again every time), and before each fold the model holds the weights, random
    streams and optimizer state of a fresh train() with the pass's seed."""
    import keras

    from training.features.store import build_split_model
    from training.events import Events
    from training.fit.rng import seed_states
    from training.fit.session import make_optimizer

    index, run_dir = small_run
    trainer, spec, config = _trainer(index, run_dir)
    try:
        traces, first = [], 0
        for rep in range(2):
            cfg = dataclasses.replace(config, seed=config.seed + rep)
            splits = list(_fold_splits(index, 3, rep))
            trainer.start_pass(cfg, int(np.count_nonzero(splits[0] == TRAIN)))
            if rep == 0:
                model = trainer.model
                model.train_step = _counting(model.train_step, traces)
            keras.utils.set_random_seed(cfg.seed)
            fresh, _ = build_split_model(spec, len(index.classes), False)
            for s in splits:
                trainer.fit_fold(s, Events())
                first = first or len(traces)  # the first fit traces (twice: variables, then the step)
                assert trainer.model is model
                rows, probs = trainer.predict(s)
                assert set(rows.tolist()) == set(np.flatnonzero(s == TEST).tolist())
                assert np.allclose(probs.sum(axis=1), 1.0)
            assert first and len(traces) == first, f"{len(traces)} traces of the train step, {first} in the first fold"
            trainer.reset()
            for got, want in zip(model.get_weights(), fresh.get_weights()):
                np.testing.assert_array_equal(got, want)
            assert seed_states(model) == seed_states(fresh)
            # The state of a new optimizer of the same settings, built on the same weights.
            assert model.optimizer.use_ema  # the averages are reset too
            new = make_optimizer(cfg.optimizer, cfg.learning_rate, model.optimizer.ema_momentum)
            new.build(fresh.trainable_variables)
            assert int(model.optimizer.iterations.numpy()) == 0
            assert len(model.optimizer.variables) == len(new.variables)
            for got, want in zip(model.optimizer.variables, new.variables):
                np.testing.assert_array_equal(got.numpy(), want.numpy())
    finally:
        trainer.close()
