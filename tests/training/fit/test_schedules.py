"""Learning-rate schedules: the plateau schedule lowers the rate in a real run (and the
history records it); the cosine schedule decays it per epoch."""
import pytest

from tests.imagegen import make_class_folder
from tests.training.trainutil import tiny_spec
from training.recipe.config import TrainConfig
from training.fit.schedules import COSINE_FLOOR, PLATEAU_FACTOR, cosine_rate, plateau_patience


def test_cosine_runs_from_the_base_rate_to_the_floor():
    rates = [cosine_rate(0.01, e, 0, 5) for e in range(5)]
    assert rates[0] == pytest.approx(0.01) and rates[-1] == pytest.approx(0.01 * COSINE_FLOOR)
    assert all(a > b for a, b in zip(rates, rates[1:]))
    assert plateau_patience(5) == 2 and plateau_patience(0) == 1


@pytest.mark.parametrize("schedule", ["plateau", "cosine"])
def test_schedule_changes_the_rate_during_training(tmp_path, schedule):
    from training.fit.train import train

    data = make_class_folder(tmp_path / "data", per_class=6, size=8)
    # A tiny rate leaves the validation loss flat (within min_delta): a plateau at once.
    config = TrainConfig(epochs=4, batch_size=8, learning_rate=1e-7 if schedule == "plateau" else 0.01,
                         lr_schedule=schedule, early_stopping=False, patience=2)
    s = train(str(data), tiny_spec("mlp", size=8), config, run_dir=str(tmp_path / "run"))
    lrs = [h["lr"] for h in s.history]
    assert lrs[0] == pytest.approx(config.learning_rate)
    if schedule == "cosine":
        assert lrs == sorted(lrs, reverse=True) and lrs[-1] < lrs[0] * 0.1
    else:
        # Epoch 1 sets the best loss, epoch 2 doesn't beat it: epoch 3 runs at 0.3x.
        assert lrs[2] == pytest.approx(config.learning_rate * PLATEAU_FACTOR, rel=1e-4)


def test_early_stopping_is_armed_only_once_the_cosine_has_decayed():
    from training.fit.schedules import ARM_FRACTION, SHORT_PHASE, early_stop_from
    from training.recipe.epoch_budget import SHORT_RUN_STEPS

    assert early_stop_from("plateau", 0, 30) == 1 and early_stop_from("none", 4, 9) == 5
    assert early_stop_from("cosine", 0, SHORT_PHASE) is None  # a short phase: never
    arm = early_stop_from("cosine", 0, 30)
    assert early_stop_from("cosine", 0, 30, steps_per_epoch=SHORT_RUN_STEPS // 30 + 1) == arm
    # A short run (at most SHORT_RUN_STEPS optimizer steps) is never stopped early.
    assert early_stop_from("cosine", 0, 30, steps_per_epoch=SHORT_RUN_STEPS // 30) is None
    assert early_stop_from("plateau", 0, 30, steps_per_epoch=1) == 1  # a plateau: any length
    # The run stopped at epoch 11 of 30 with the rate at 74 % of its peak.
    assert arm > 11 and cosine_rate(1.0, arm - 1, 0, 30) <= ARM_FRACTION
    assert cosine_rate(1.0, arm - 2, 0, 30) > ARM_FRACTION
    assert early_stop_from("cosine", 5, 35) == arm + 5  # a later phase: its own span


def test_a_flat_validation_loss_cannot_stop_a_cosine_run_before_it_has_decayed(tmp_path,
                                                                                monkeypatch):
    """A validation loss that never improves (a learning rate too small to move it) used to
    end the run after `patience` epochs; now the stop waits for the decayed part of the
    schedule, and still comes there (no epochs wasted on the plateau after it). A long
    run's rule: this tiny run counts as long with no short-run threshold."""
    from training.fit.schedules import early_stop_from
    from training.fit.train import train

    monkeypatch.setattr("training.recipe.epoch_budget.SHORT_RUN_STEPS", 0)
    data = make_class_folder(tmp_path / "data", per_class=6, size=8)
    config = TrainConfig(epochs=14, batch_size=8, learning_rate=1e-12, patience=1)
    s = train(str(data), tiny_spec("mlp", size=8), config, run_dir=str(tmp_path / "run"))
    arm = early_stop_from("cosine", 0, 14)
    assert s.epochs_done == arm < 14  # the first epoch at which a stop is allowed
    assert s.best_epoch == 1


def _weights(path):
    from training.runs.runfolder import load_model_file

    return load_model_file(str(path)).get_weights()


def _same(a, b) -> bool:
    import numpy as np

    return len(a) == len(b) and all(np.array_equal(x, y) for x, y in zip(a, b))


def test_a_short_cosine_run_trains_to_the_end_and_keeps_its_last_weights(tmp_path, monkeypatch):
    """Issue 21 item 3, round 3: a run of at most SHORT_RUN_STEPS optimizer steps is not
    early-stopped and ends with its last, decayed weights, although its validation loss
    was lowest early on; the same run counted as long stops and restores the best epoch."""
    from tests.imagegen import make_noise_folder
    from tests.training.trainutil import read
    from training.fit.train import train

    data = make_noise_folder(tmp_path / "data")
    config = TrainConfig(epochs=14, batch_size=8, learning_rate=0.01, patience=1)
    s = train(str(data), tiny_spec("mlp", size=8), config, run_dir=str(tmp_path / "short"))
    info = read(s.run_dir, "run.json")
    assert s.epochs_done == 14 and info["early_stopped"] is False
    assert info["kept_last_weights"] is True
    assert s.best_epoch < 14  # the validation loss was lowest before the end
    run = tmp_path / "short"
    assert _same(_weights(run / "model_final.keras"), _weights(run / "model_last.keras"))
    assert not _same(_weights(run / "model_final.keras"), _weights(run / "model_best.keras"))

    monkeypatch.setattr("training.recipe.epoch_budget.SHORT_RUN_STEPS", 0)  # now a long run
    s = train(str(data), tiny_spec("mlp", size=8), config, run_dir=str(tmp_path / "long"))
    info = read(s.run_dir, "run.json")
    assert s.epochs_done < 14 and info["early_stopped"] is True
    assert info["kept_last_weights"] is False
    run = tmp_path / "long"
    assert _same(_weights(run / "model_final.keras"), _weights(run / "model_best.keras"))
