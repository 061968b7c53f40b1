"""The Auto model choice: template, input size, colour and augmentation from the data,
each with its reason."""
import pytest

from tests.imagegen import class_image, make_class_folder, write_image
from training.recipe.auto import (TINY_FILTERS, DataFacts, auto_choice, choose, cnn_blocks,
                                  cnn_filters)


def test_small_gray_set_gets_a_batchnorm_cnn_at_its_own_size_without_flips():
    c = choose(DataFacts(28, 28, True, 54_000, 10), (28, 28), imagenet_available=True)
    spec = c.spec
    assert c.template == "cnn" and spec.input_size == (28, 28) and spec.color_mode == "grayscale"
    types = [layer.type for layer in spec.layers]
    assert types.count("BatchNormalization") == types.count("Conv2D") == 4
    assert types.count("MaxPooling2D") == 2 and "Dropout" in types
    assert spec.augmentation.translation > 0 and spec.augmentation.flip == "none"
    assert spec.layers[0].params["filters"] == 16  # a big set: narrower, to fit a CPU budget
    assert spec.layers[1].params == {"momentum": 0.99}  # 844 steps per epoch: Keras' BN default
    assert "28×28" in c.explanation and "no flips" in c.explanation
    spec.validate()


def test_tiny_images_keep_their_size_one_wider_block_and_no_augmentation():
    """Issue 21, 8c round 5: under 16 px a side (sklearn's 8x8 digits) there is room for
    one conv + pool block only, and it gets 64 filters instead of 32; nothing changes
    from 16 px on."""
    c = choose(DataFacts(8, 8, True, 1400, 10), (8, 8), imagenet_available=False)
    assert c.spec.input_size == (8, 8) and not c.spec.augmentation.enabled
    assert [layer.type for layer in c.spec.layers].count("MaxPooling2D") == 1
    assert c.spec.layers[0].params["filters"] == TINY_FILTERS == 64
    assert "64 filters first, wider because tiny images" in c.explanation
    assert "No augmentation" in c.explanation
    # 22 steps per epoch: BatchNormalization statistics must follow faster.
    assert c.spec.layers[1].params == {"momentum": 0.909} and "momentum 0.909" in c.explanation
    for side in (16, 28):  # two blocks: the 32 filters as before, and shifts
        c = choose(DataFacts(side, side, True, 1400, 10), (side, side), imagenet_available=False)
        assert c.spec.layers[0].params["filters"] == 32 and "wider" not in c.explanation
        assert c.spec.augmentation.translation > 0
    # The work budget still caps it: a big tiny-image set gets 32.
    assert cnn_filters(8, 8, 20_000) == 64 and cnn_filters(8, 8, 60_000) == 32


@pytest.mark.parametrize("available", [True, False])
def test_few_colour_photos_pick_transfer_only_when_the_weights_are_cached(available):
    c = choose(DataFacts(300, 400, False, 800, 5), (128, 128), imagenet_available=available)
    if available:
        assert c.template == "mobilenet_v2" and c.spec.backbone.weights == "imagenet"
        assert c.spec.input_size == (96, 96) and not c.spec.backbone.trainable
        assert c.spec.augmentation.flip == "horizontal"
    else:
        assert c.template == "cnn" and c.spec.color_mode == "rgb"
        assert "Download ImageNet weights" in c.explanation  # says how to get them
    assert "800" in c.explanation


def test_batchnorm_follows_about_half_an_epoch():
    from training.recipe.auto import bn_momentum

    assert [bn_momentum(s) for s in (3, 22, 200, 844)] == [0.333, 0.909, 0.99, 0.99]
    c = choose(DataFacts(25, 25, True, 160, 2), (25, 25), imagenet_available=False)
    assert c.spec.layers[1].params == {"momentum": 0.333}


def test_blocks_and_filters_follow_size_and_count():
    assert [cnn_blocks(s, s) for s in (8, 16, 28, 64, 128, 512)] == [1, 2, 2, 4, 4, 4]
    assert cnn_filters(16, 16, 1000) == 32 and cnn_filters(28, 28, 60_000) == 16


def test_auto_choice_reads_an_opened_dataset(tmp_path):
    from training.data import open_dataset

    root = make_class_folder(tmp_path / "rgb", per_class=6, size=20)
    c = auto_choice(open_dataset(str(root)))
    assert c.template == "cnn" and c.spec.input_size == (20, 20) and c.spec.color_mode == "rgb"
    assert "3 classes" in c.explanation
    gray = tmp_path / "gray"
    for label, name in enumerate(("a", "b")):
        for i in range(5):
            write_image(gray / name / f"{i}.png", class_image(label, 12, channels=1))
    c = auto_choice(open_dataset(str(gray)))
    assert c.spec.color_mode == "grayscale" and c.spec.input_size == (12, 12)
    assert c.to_dict()["reasons"] == c.reasons


def test_a_tiny_image_model_builds_trains_and_predicts(tmp_path):
    """Auto's wider block for 8x8 files: one real epoch, and the saved run predicts."""
    from training.data import open_dataset
    from training.fit.train import train
    from training.inference.predict import Predictor
    from training.recipe.config import TrainConfig

    root = tmp_path / "tiny"
    for label, name in enumerate(("a", "b", "c")):
        for i in range(10):
            write_image(root / name / f"{i}.png", class_image(label, 8, channels=1))
    c = auto_choice(open_dataset(str(root)))
    assert c.spec.input_size == (8, 8) and c.spec.layers[0].params["filters"] == 64
    run = tmp_path / "run"
    assert train(str(root), c.spec, TrainConfig(epochs=1, seed=0), run_dir=str(run)).epochs_done == 1
    predictor = Predictor(str(run))
    convs = [layer.filters for layer in predictor.model.layers if hasattr(layer, "filters")]
    assert convs == [64, 64]  # the saved model is the wider one
    out = predictor.predict_paths([str(root / "a" / "0.png"), str(root / "c" / "9.png")])
    assert [r["error"] for r in out] == [None, None] and len(out[0]["probabilities"]) == 3
