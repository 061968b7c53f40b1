"""Resume equals uninterrupted (issue 21 item 5): a run stopped after epoch 2 and resumed
trains epochs 3-4 at the learning rates, on the batches, with the optimizer state and the
augmentation/dropout random streams the uninterrupted run had, so it ends with the same
weights (CPU, within float tolerance)."""
import numpy as np
import pytest

from tests.imagegen import make_class_folder
from tests.training.trainutil import Recorder, tiny_spec
from training.recipe.config import TrainConfig
from training.runs.runfolder import load_model_file


def _spec():
    from training.models.spec import AugmentationSpec

    spec = tiny_spec("cnn", size=12, color="grayscale", dropout=0.25)
    spec.augmentation = AugmentationSpec(translation=0.1)  # a random stream in the model
    return spec


def test_a_resumed_cosine_run_matches_the_uninterrupted_one(tmp_path):
    from training.fit.train import resume, train

    data = make_class_folder(tmp_path / "data", per_class=12, size=12)
    config = TrainConfig(epochs=4, batch_size=8, learning_rate=0.01, lr_schedule="cosine",
                         early_stopping=False, restore_best=False, seed=5)
    whole = train(str(data), _spec(), config, run_dir=str(tmp_path / "whole"))
    assert whole.status == "complete"

    events = Recorder(stop_when=lambda kind, p: kind == "epoch" and p["epoch"] == 2)
    first = train(str(data), _spec(), config, events, run_dir=str(tmp_path / "parts"))
    assert first.status == "stopped" and first.epochs_done == 2
    rest = resume(str(tmp_path / "parts"))
    assert rest.status == "complete" and rest.epochs_done == 4

    whole_lr = [h["lr"] for h in whole.history]
    rest_lr = [h["lr"] for h in rest.history]
    # Before the fix epoch 3 restarted the cosine at the base rate (0.01).
    assert rest_lr == pytest.approx(whole_lr, rel=1e-6)
    assert rest_lr[2] < 0.01 * 0.9
    for a, b in zip(whole.history, rest.history):
        assert a["loss"] == pytest.approx(b["loss"], rel=1e-4, abs=1e-5)
    final_a = load_model_file(tmp_path / "whole" / "model_final.keras", compile=False)
    final_b = load_model_file(tmp_path / "parts" / "model_final.keras", compile=False)
    wa, wb = final_a.get_weights(), final_b.get_weights()
    assert len(wa) == len(wb)
    for x, y in zip(wa, wb):
        np.testing.assert_allclose(x, y, rtol=1e-4, atol=1e-5)



def test_a_resumed_short_run_trains_to_the_end_and_keeps_its_last_weights(tmp_path):
    """Round 3 of issue 21: a short cosine run (at most SHORT_RUN_STEPS optimizer steps)
    trains to the end and keeps its last weights, under the default early stopping and
    best-epoch restore. Stopped by the person after epoch 5 of 12 and resumed, it must
    still do so: the resumed part continues the cosine, is not early-stopped (patience 1
    on a noise set whose validation loss rises), and ends with the uninterrupted run's
    last weights, not the best-validated epoch's."""
    from tests.imagegen import make_noise_folder
    from tests.training.trainutil import read
    from training.fit.schedules import SHORT_PHASE
    from training.fit.train import resume, train
    from training.recipe.epoch_budget import runs_to_the_end

    data = make_noise_folder(tmp_path / "data")
    config = TrainConfig(epochs=12, batch_size=8, learning_rate=0.01, patience=1)
    # Longer than a short phase (which is never early-stopped anyway), short in steps.
    assert config.epochs > SHORT_PHASE and config.early_stopping and config.restore_best
    assert runs_to_the_end(config.lr_schedule, config.epochs, 6)
    spec = tiny_spec("mlp", size=8)
    whole = train(str(data), spec, config, run_dir=str(tmp_path / "whole"))
    events = Recorder(stop_when=lambda kind, p: kind == "epoch" and p["epoch"] == 5)
    first = train(str(data), tiny_spec("mlp", size=8), config, events,
                  run_dir=str(tmp_path / "parts"))
    assert first.status == "stopped" and first.epochs_done == 5
    rest = resume(str(tmp_path / "parts"))

    for run, s in (("whole", whole), ("parts", rest)):
        info = read(tmp_path / run, "run.json")
        assert s.status == "complete" and s.epochs_done == 12, run
        assert info["early_stopped"] is False and info["kept_last_weights"] is True, run
        assert s.best_epoch < 12, run  # so keeping the last weights is not the same thing
    assert [h["lr"] for h in rest.history] == pytest.approx([h["lr"] for h in whole.history],
                                                           rel=1e-6)
    final_a = load_model_file(tmp_path / "whole" / "model_final.keras", compile=False)
    final_b = load_model_file(tmp_path / "parts" / "model_final.keras", compile=False)
    last_b = load_model_file(tmp_path / "parts" / "model_last.keras", compile=False)
    for x, y, z in zip(final_a.get_weights(), final_b.get_weights(), last_b.get_weights()):
        np.testing.assert_allclose(x, y, rtol=1e-4, atol=1e-5)
        np.testing.assert_array_equal(y, z)
