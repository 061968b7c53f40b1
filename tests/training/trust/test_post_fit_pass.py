"""The work after fit() (calibration, the unknown rule, the evaluation and its galleries)
shares one forward pass (issue 21 item 4): one penultimate-feature model is made, and each
validation and test image goes through it once; the evaluation's numbers are those a
separate evaluation of the saved run gives."""
import numpy as np
import pytest

from tests.imagegen import make_class_folder
from tests.training.trainutil import tiny_spec
from training.recipe.config import TrainConfig
from training.runs.runfolder import RunFolder


def test_calibration_unknown_rule_and_evaluation_share_one_pass(tmp_path, monkeypatch):
    from training.data import open_dataset
    from training.data.index import TEST, VALIDATION
    from training.features.embeddings import Embedder
    from training.fit.train import train
    from training.inference.evaluate import evaluate

    made, seen = [], []
    real_init, real_embed = Embedder.__init__, Embedder.embed_batch

    def counting_init(self, *args, **kwargs):
        made.append(1)
        real_init(self, *args, **kwargs)

    def counting_embed(self, images, *args, **kwargs):
        seen.append(len(images))
        return real_embed(self, images, *args, **kwargs)

    data = make_class_folder(tmp_path / "data", per_class=20, size=12)
    index = open_dataset(str(data))
    splits = np.asarray(index.splits)
    monkeypatch.setattr(Embedder, "__init__", counting_init)
    monkeypatch.setattr(Embedder, "embed_batch", counting_embed)
    summary = train(index, tiny_spec("cnn", size=12), TrainConfig(epochs=1, batch_size=8),
                    run_dir=str(tmp_path / "run"))
    assert summary.status == "complete"
    assert len(made) == 1  # one feature model for the whole post-fit work
    n_val, n_test = int((splits == VALIDATION).sum()), int((splits == TEST).sum())
    n_train = len(splits) - n_val - n_test  # the reference subsample is all of it here
    assert sum(seen) == n_val + n_test + n_train  # every image once, none twice
    monkeypatch.undo()

    saved = RunFolder(tmp_path / "run").read_evaluation()
    again = evaluate(str(tmp_path / "run"))  # a separate evaluation of the saved run
    assert again["accuracy"] == pytest.approx(saved["accuracy"])
    assert again["confusion_matrix"] == saved["confusion_matrix"]
    assert [p["row"] for p in again["most_incorrect"]] == [p["row"] for p in saved["most_incorrect"]]
    assert saved["calibration"]["temperature"] == again["calibration"]["temperature"]
