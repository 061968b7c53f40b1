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

