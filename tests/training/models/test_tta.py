"""Flip test-time augmentation (training.models.tta) on a real run: the model, the
evaluation, Predictor, the features and Grad-CAM all give the mean of the image's and its
mirror's predictions; it is off by default and a flip-unsafe choice never has it; the CLI
turns it on."""
from __future__ import annotations

import json
import os

import numpy as np
import pytest

from tests.imagegen import make_class_folder
from tests.training.trainutil import tiny_spec


def _plain_twin(spec, model):
    """The same network without TTA, holding ``model``'s weights (the TTA layers have none)."""
    import copy

    from training.models import build_model

    plain_spec = copy.deepcopy(spec)
    plain_spec.augmentation.test_time_flip = False
    plain = build_model(plain_spec, model.output_shape[-1])
    plain.set_weights(model.get_weights())
    return plain


@pytest.fixture(scope="module")
def tta_run(tmp_path_factory):
    from training.data import DatasetSpec
    from training.fit.train import train
    from training.models import AugmentationSpec
    from training.recipe.config import TrainConfig

    root = tmp_path_factory.mktemp("tta")
    data = make_class_folder(root / "data", per_class=14, size=16)
    spec = tiny_spec("cnn", size=16)
    spec.augmentation = AugmentationSpec(flip="horizontal", translation=0.1, test_time_flip=True)
    summary = train(DatasetSpec(str(data)), spec, TrainConfig(epochs=2, batch_size=8),
                    None, run_dir=str(root / "run"))
    assert summary.status == "complete"
    return summary.run_dir, spec


def _mirrored_mean(plain, x):
    return (plain(x, training=False).numpy() + plain(x[:, :, ::-1], training=False).numpy()) / 2


def test_the_saved_model_predicts_the_mean_of_the_image_and_its_mirror(tta_run):
    from training.models.tta import has_flip_tta, view_probabilities
    from training.runs.runfolder import RunFolder

    run_dir, spec = tta_run
    folder = RunFolder(run_dir)
    model = folder.load_model("final")  # safe mode: no Lambda, registered layers only
    assert has_flip_tta(model)
    x = np.random.default_rng(0).integers(0, 256, (7, 16, 16, 3)).astype(np.float32)
    plain = _plain_twin(spec, model)
    got = model(x, training=False).numpy()
    np.testing.assert_allclose(got, _mirrored_mean(plain, x), atol=1e-6)
    assert np.abs(got - plain(x, training=False).numpy()).max() > 1e-4  # TTA changed something
    views = view_probabilities(model)(x, training=False).numpy()
    np.testing.assert_allclose(views[:7], plain(x, training=False).numpy(), atol=1e-6)
    np.testing.assert_allclose(views[7:], plain(x[:, :, ::-1], training=False).numpy(), atol=1e-6)
    # Training passes one view through: the loss is the plain model's.
    assert model(x, training=True).shape == (7, 3)
    saved = json.loads((folder.path / "spec.json").read_text())
    assert saved["augmentation"]["test_time_flip"] is True


def test_evaluation_predictor_features_and_gradcam_all_use_the_mirror(tta_run):
    from training.data import decode_image
    from training.features.embeddings import Embedder
    from training.inference.gradcam import GradCam
    from training.inference.predict import Predictor
    from training.runs.runfolder import RunFolder

    run_dir, spec = tta_run
    evaluation = RunFolder(run_dir).read_evaluation()
    predictor = Predictor(run_dir)
    plain = _plain_twin(spec, predictor.model)
    paths = [p["path"] for p in evaluation["predictions"]]
    results = predictor.predict_paths(paths)
    x = np.stack([decode_image(p, predictor.input_size, predictor.color_mode)
                  for p in paths]).astype(np.float32)
    expected = predictor.trust.calibrate(_mirrored_mean(plain, x))
    for r, e, p in zip(results, expected, evaluation["predictions"]):
        np.testing.assert_allclose(r["probabilities"], e, atol=1e-5)
        np.testing.assert_allclose(p["probabilities"], e, atol=1e-5)  # the evaluation agrees
    emb = Embedder(predictor.model)
    feats, probs = emb.embed_batch(x, with_probabilities=True)
    assert feats.shape == (len(x), emb.dim)
    np.testing.assert_allclose(probs, _mirrored_mean(plain, x), atol=1e-6)
    assert emb.logits(feats, probs) is None  # calibration fits on log-probabilities
    cam = GradCam(predictor.model).explain(x[0].astype(np.uint8))
    assert cam["heatmap"].shape == (16, 16) and cam["method"] == "grad-cam"
    np.testing.assert_allclose(cam["probabilities"], _mirrored_mean(plain, x[:1])[0], atol=1e-5)


def test_a_flip_unsafe_choice_has_no_tta_even_when_asked_and_a_safe_one_has():
    from sklearn.datasets import load_digits

    from training.models import build_model
    from training.models.tta import has_flip_tta
    from training.recipe.auto import DataFacts, choose
    from training.recipe.flips import mirror_check_arrays

    digits = load_digits()
    check = mirror_check_arrays(np.round(digits.images * 255 / 16), digits.target)
    assert check.safe is False
    for safe, want in ((check.safe, False), (True, True)):
        choice = choose(DataFacts(32, 32, False, 1_000, 10, mirror_safe=safe), (32, 32), False)
        assert not choice.spec.augmentation.flip_tta  # off by default (BENCHMARKS 8c)
        choice.spec.augmentation.test_time_flip = True  # as --flip-tta / the checkbox do
        assert choice.spec.augmentation.flip_tta is want  # no flips, no mirror at test time
        assert has_flip_tta(build_model(choice.spec, 10)) is want


def test_spec_setting():
    from training.models import ModelSpec
    from training.models.errors import SpecError

    spec = tiny_spec("cnn", size=16)
    spec.augmentation.flip = "horizontal"
    assert not spec.augmentation.flip_tta  # off by default
    spec.augmentation.test_time_flip = True
    data = spec.to_dict()
    assert ModelSpec.from_dict(data).augmentation.flip_tta
    old = {**data, "augmentation": {"flip": "horizontal"}}  # written before the field
    assert ModelSpec.from_dict(old).augmentation.test_time_flip is False
    spec.augmentation.flip = "vertical"
    assert not spec.augmentation.flip_tta  # only a horizontal flip makes the mirror safe
    data["augmentation"]["test_time_flip"] = "yes"
    with pytest.raises(SpecError, match="test_time_flip"):
        ModelSpec.from_dict(data)


def test_the_cli_turns_it_on(tmp_path, capsys):
    from training.cli import main as cli
    from training.models.tta import has_flip_tta
    from training.runs.runfolder import RunFolder

    data = make_class_folder(tmp_path / "data", per_class=8, size=16)
    out = tmp_path / "run"
    assert cli.main(["train", str(data), "--model", "cnn", "--augment", "--flip-tta",
                     "--epochs", "1", "--batch-size", "8", "--out", str(out)]) == 0
    folder = RunFolder(out)
    assert has_flip_tta(folder.load_model("final"))
    assert json.loads((folder.path / "spec.json").read_text())["augmentation"][
        "test_time_flip"] is True
    assert os.path.isfile(folder.model_final)


def test_gradcam_follows_a_backbone_model_with_tta():
    """The nested-backbone path replays the layers around MobileNetV2: with TTA it must
    still reproduce the model's own (averaged) output, or it would refuse the model."""
    from tests.training.trainutil import tiny_transfer_spec
    from training.inference.gradcam import GradCam
    from training.models import AugmentationSpec, build_model

    spec = tiny_transfer_spec()
    spec.augmentation = AugmentationSpec(flip="horizontal", test_time_flip=True)
    model = build_model(spec, 3)
    plain = _plain_twin(spec, model)
    image = np.random.default_rng(1).integers(0, 256, (32, 32, 3)).astype(np.uint8)
    cam = GradCam(model).explain(image)
    x = image[None].astype(np.float32)
    np.testing.assert_allclose(cam["probabilities"], _mirrored_mean(plain, x)[0], atol=1e-5)
    assert cam["heatmap"].shape == (32, 32) and "/" in cam["layer"]
