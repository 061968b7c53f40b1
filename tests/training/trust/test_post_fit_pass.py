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


def test_small_images_go_through_the_post_fit_pass_in_big_batches_with_the_same_outputs(
        tmp_path, monkeypatch):
    """Each model call costs milliseconds of overhead whatever its size (issue 21): small
    images go 1,024 at a time where a split has that many, big ones stay at 64, and every
    split still takes 8 calls where it has 64 images a call to give (progress, stops);
    the outputs are those of 64-image batches."""
    from tests.imagegen import make_idx_dataset
    from training.data import open_dataset, open_images
    from training.data.index import TEST, TRAIN, VALIDATION
    from training.features.embeddings import Embedder
    from training.models import build_model
    from training.features.modelcall import inference_batch
    from training.trust.fitting import model_passes

    assert inference_batch(10_000, (28, 28, 1)) == 1024
    assert inference_batch(1_000, (28, 28, 1)) == 125  # 8 calls
    assert inference_batch(72, (16, 16, 3)) == 64  # 2 calls: a stop between them is seen
    assert inference_batch(10_000, (224, 224, 3)) == 64
    assert inference_batch(100_000, (64, 64, 3)) == 85  # 4 MB of float32 input per call

    index = open_dataset(str(make_idx_dataset(tmp_path / "idx", n_train=6000, n_test=2500,
                                              size=8)))
    model = build_model(tiny_spec("mlp", size=8, color="grayscale"), len(index.classes))
    sizes, real_embed = [], Embedder.embed_batch

    def counting(self, images, *args, **kwargs):
        sizes.append(len(images))
        return real_embed(self, images, *args, **kwargs)

    with open_images(index, 8, "grayscale") as data:
        n = {s: int((np.asarray(data.splits) == s).sum()) for s in (TRAIN, VALIDATION, TEST)}
        with monkeypatch.context() as m:
            m.setattr(Embedder, "embed_batch", counting)  # counts the real calls
            auto = model_passes(model, data, seed=1)
        small = model_passes(model, data, seed=1, batch_size=64)
    assert n[TEST] == 2500 and sum(sizes) == n[VALIDATION] + 1000 + n[TEST]
    assert max(sizes) == inference_batch(n[TEST], (8, 8, 1)) == 313  # 8 calls for the test split
    assert len(sizes) <= 8 + 8 + 8 + 3
    for split in ("validation", "train", "test"):
        assert np.array_equal(auto[split]["rows"], small[split]["rows"])
        np.testing.assert_allclose(auto[split]["raw"], small[split]["raw"], atol=1e-6)
        np.testing.assert_allclose(auto[split]["features"], small[split]["features"], atol=1e-5)
        np.testing.assert_array_equal(auto[split]["thumbs"], small[split]["thumbs"])
