"""EfficientNetB0 and ResNet50: each built, trained a step, saved and reloaded, with
their own preprocessing inside the model. At 32x32 (their minimum) to stay fast."""
import numpy as np
import pytest

from tests.training.models.helpers import images, train_step, write_legacy_h5
from training.models import build_model, load_model, template

SIZE = (32, 32)


def _save_reload(model, x, path):
    expected = model(x).numpy()
    model.save(path)
    loaded = load_model(path)
    np.testing.assert_allclose(loaded(x).numpy(), expected, rtol=1e-4, atol=1e-5)


@pytest.mark.slow
def test_resnet50_gray_input_caffe_preprocessing_train_and_reload(tmp_path):
    import keras

    spec = template("resnet50", input_size=SIZE, color_mode="grayscale", weights="random")
    model = build_model(spec, 2)
    x = images(4, SIZE, 1)
    rgb = np.repeat(x, 3, axis=-1)
    np.testing.assert_array_equal(model.get_layer("gray_to_rgb")([x, x, x]).numpy(), rgb)
    # resnet50.preprocess_input (RGB->BGR, minus the ImageNet mean), done by layers.
    np.testing.assert_allclose(model.get_layer("preprocess")(rgb).numpy(),
                               keras.applications.resnet50.preprocess_input(rgb.copy()),
                               atol=1e-4)
    assert not model.get_layer("preprocess").trainable_weights
    train_step(model, 2, x)
    assert model.get_layer("predictions").units == 1
    _save_reload(model, x, tmp_path / "resnet.keras")


@pytest.mark.slow
def test_efficientnet_imagenet_file_and_its_normalisation(tmp_path, keras_home):
    import keras

    source = build_model(template("efficientnet_b0", input_size=SIZE, weights="random"), 3)
    source_bb = source.get_layer("efficientnet_b0")
    write_legacy_h5(source_bb, keras_home / "models" / "efficientnetb0_notop.h5")
    spec = template("efficientnet_b0", input_size=SIZE)  # weights="imagenet", from the cache
    model = build_model(spec, 3)
    backbone = model.get_layer("efficientnet_b0")
    norm = [l for l in backbone.layers if isinstance(l, keras.layers.Normalization)][0]
    # Auto-generated names differ between builds (normalization_1, ...): pair by position.
    src_norm = source_bb.layers[backbone.layers.index(norm)]
    mean, variance = src_norm.adapt_mean.numpy(), src_norm.adapt_variance.numpy()
    for a, b in zip(source_bb.layers, backbone.layers):
        if a is not src_norm:
            for wa, wb in zip(a.get_weights(), b.get_weights()):
                np.testing.assert_array_equal(wb, wa)
    # Keras' ImageNet EfficientNet divides by sqrt(stddev) after normalising; the same
    # scale folded into the variance gives the same numbers.
    x = images(2, SIZE, 3)
    stddev = np.array([0.229, 0.224, 0.225], np.float32)
    expected = (x / 255.0 - mean) / np.sqrt(variance) / np.sqrt(stddev)
    scaled = backbone.layers[backbone.layers.index(norm) - 1](x)
    np.testing.assert_allclose(norm(scaled).numpy(), expected, rtol=1e-4, atol=1e-4)
    train_step(model, 3, x)
    _save_reload(model, x, tmp_path / "effnet.keras")
