"""Validation during fit goes in inference-sized batches for small inputs (issue 21: each
step costs the same overhead whatever its size), with the numbers a validation in
training-sized batches gives."""
import numpy as np
import pytest

from tests.imagegen import make_idx_dataset
from tests.training.trainutil import tiny_spec
from training.recipe.config import TrainConfig
from training.runs.runfolder import RunFolder


def test_validation_batches_are_inference_sized_and_give_the_same_numbers(tmp_path, monkeypatch):
    from training.data import open_dataset, open_images
    from training.data.images import ImageData
    from training.data.index import VALIDATION
    from training.features.modelcall import inference_batch
    from training.fit.train import train

    index = open_dataset(str(make_idx_dataset(tmp_path / "idx", n_train=3000, n_test=200, size=8)))
    made, real_dataset = [], ImageData.dataset

    def recording(self, rows, batch_size, shuffle=False, seed=0):
        made.append((len(rows), batch_size, shuffle))
        return real_dataset(self, rows, batch_size, shuffle, seed)

    with monkeypatch.context() as m:
        m.setattr(ImageData, "dataset", recording)  # records the real datasets made
        summary = train(index, tiny_spec("mlp", size=8, color="grayscale"),
                        TrainConfig(epochs=1, batch_size=8, seed=0), run_dir=str(tmp_path / "run"))
    assert summary.status == "complete"
    n_val = int((np.asarray(index.splits) == VALIDATION).sum())
    val = [b for n, b, shuffled in made if not shuffled]
    assert val == [inference_batch(n_val, (8, 8, 1))] and val[0] > 8  # not the training batch

    # The same validation numbers as batches of 8 give, from the epoch's last weights.
    model = RunFolder(tmp_path / "run").load_model("last", compile=True)
    with open_images(index, 8, "grayscale") as data:
        loss, acc = model.evaluate(real_dataset(data, data.split_rows(VALIDATION), 8), verbose=0)
    assert summary.history[0]["val_loss"] == pytest.approx(loss, abs=1e-5)
    assert summary.history[0]["val_accuracy"] == pytest.approx(acc, abs=1e-6)
