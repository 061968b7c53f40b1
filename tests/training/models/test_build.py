"""build_model for the mlp and cnn templates: training, saving, heads, preprocessing,
augmentation and the errors of invalid layers. Real Keras, 16x16 inputs."""
import numpy as np
import pytest

from tests.training.models.helpers import images, train_step
from training.models import (AugmentationSpec, LayerSpec, SpecError, build_model, load_model,
                             template)

SIZE = (16, 16)


@pytest.mark.parametrize("name, color, classes", [("mlp", "grayscale", 3), ("cnn", "rgb", 2),
                                                  ("cnn", "grayscale", 4)])
def test_template_trains_saves_and_reloads_safely(name, color, classes, tmp_path):
    spec = template(name, input_size=SIZE, color_mode=color, dropout=0.2)
    model = build_model(spec, classes)
    x = images(8, SIZE, spec.channels)
    before = train_step(model, classes, x)
    assert any(not np.array_equal(a, b) for a, b in zip(before, model.get_weights()))
    expected = model(x, training=False).numpy()
    path = tmp_path / f"{name}.keras"
    model.save(path)
    import keras

    for loaded in (load_model(path), keras.saving.load_model(path, safe_mode=True)):
        np.testing.assert_allclose(loaded(x).numpy(), expected, rtol=1e-6, atol=1e-7)


def test_binary_and_multiclass_heads_give_probabilities():
    spec = template("mlp", input_size=SIZE)
    x = images(5, SIZE, 1)
    binary = build_model(spec, 2)
    head = binary.get_layer("predictions")
    assert head.units == 1 and head.activation.__name__ == "sigmoid"
    p = binary(x).numpy()
    assert p.shape == (5, 1) and ((p > 0) & (p < 1)).all()
    multi = build_model(spec, 7)
    head = multi.get_layer("predictions")
    assert head.units == 7 and head.activation.__name__ == "softmax"
    p = multi(x).numpy()
    assert p.shape == (5, 7)
    np.testing.assert_allclose(p.sum(axis=1), 1.0, rtol=1e-5)
    with pytest.raises(SpecError, match="at least 2 classes; Received: num_classes=1"):
        build_model(spec, 1)


def test_head_stays_float32_under_mixed_precision():
    import keras

    keras.mixed_precision.set_global_policy("mixed_float16")
    try:
        model = build_model(template("cnn", input_size=SIZE), 3)
        assert model.get_layer("conv2d_0").compute_dtype == "float16"
        assert model.get_layer("predictions").compute_dtype == "float32"
        assert model(images(2, SIZE, 1)).dtype == "float32"
    finally:
        keras.mixed_precision.set_global_policy("float32")


def test_preprocessing_is_inside_the_model():
    # A raw 0..255 image goes in; the model divides by 255 itself. Check against the
    # same arithmetic done by hand with the model's own weights.
    spec = template("mlp", input_size=(4, 4), units=5)
    model = build_model(spec, 3)
    x = images(3, (4, 4), 1)
    kernel, bias = model.get_layer("dense_1").get_weights()
    head_kernel, head_bias = model.get_layer("predictions").get_weights()
    hidden = np.maximum(x.reshape(3, -1) / 255.0 @ kernel + bias, 0)
    logits = hidden @ head_kernel + head_bias
    expected = np.exp(logits) / np.exp(logits).sum(axis=1, keepdims=True)
    np.testing.assert_allclose(model(x).numpy(), expected, rtol=1e-4, atol=1e-6)
    # uint8 arrays are accepted as they are.
    np.testing.assert_allclose(model(x.astype(np.uint8)).numpy(), expected, rtol=1e-4, atol=1e-6)


def test_augmentation_is_active_only_in_training(tmp_path):
    spec = template("cnn", input_size=SIZE, color_mode="rgb")
    spec.augmentation = AugmentationSpec("horizontal_and_vertical", rotation=0.2, zoom=0.2,
                                         contrast=0.3, translation=0.2)
    model = build_model(spec, 3)
    x = images(4, SIZE, 3)
    reference = model(x, training=False).numpy()
    for _ in range(3):  # plain calls and predict never augment
        np.testing.assert_array_equal(model(x, training=False).numpy(), reference)
        np.testing.assert_allclose(model(x).numpy(), reference, rtol=1e-6, atol=1e-7)
    np.testing.assert_allclose(model.predict(x, verbose=0), reference, rtol=1e-6, atol=1e-7)
    aug = model.get_layer("augmentation")
    changed = [not np.allclose(aug(x, training=True).numpy(), x) for _ in range(3)]
    assert all(changed)
    np.testing.assert_array_equal(aug(x).numpy(), x)
    path = tmp_path / "aug.keras"
    model.save(path)
    loaded = load_model(path)
    np.testing.assert_allclose(loaded(x).numpy(), reference, rtol=1e-6, atol=1e-7)
    assert not np.allclose(loaded.get_layer("augmentation")(x, training=True).numpy(), x)


def _cnn(*layers):
    spec = template("cnn", input_size=SIZE)
    spec.layers = [LayerSpec(t, p) for t, p in layers]
    return spec


@pytest.mark.parametrize("layers, index, pattern", [
    ([("Flatten", {}), ("Conv2D", {"filters": 8})], 1,
     r"Layer 1 \(Conv2D\): needs an image-shaped input .* flat vector of 256 values"),
    ([("MaxPooling2D", {"pool_size": 4}), ("MaxPooling2D", {"pool_size": 4}),
      ("MaxPooling2D", {"pool_size": 3})], 2,
     r"Layer 2 \(MaxPooling2D\): output would be 0x0 for input 1x1; Received: pool_size=3"),
    ([("Conv2D", {"kernel_size": 17, "padding": "valid"})], 0,
     r"Layer 0 \(Conv2D\): output would be 0x0 for input 16x16; Received: kernel_size=17"),
    ([("Flatten", {}), ("Dense", {"units": -4})], 1,
     r"Layer 1 \(Dense\): units must be between 1 and .*Received: units=-4"),
    ([("Flatten", {}), ("Dropout", {"rate": 1.5})], 1,
     r"Layer 1 \(Dropout\): rate must be between .*Received: rate=1.5"),
    ([("Conv2D", {"activation": "relu6x"})], 0, r"activation must be one of"),
    ([("Dense", {"units": 4})], 0,
     r"head needs a flat vector, but the last layer \(Dense\) gives a feature map of "
     r"shape \(16, 16, 4\)"),
    ([("GlobalAveragePooling2D", {}), ("Flatten", {}), ("Conv2D", {})], 2, r"Layer 2 \(Conv2D\)"),
])
def test_invalid_layers_raise_spec_error_naming_the_layer(layers, index, pattern):
    with pytest.raises(SpecError, match=pattern) as info:
        build_model(_cnn(*layers), 3)
    assert info.value.layer == index


def test_spec_level_errors_have_no_layer():
    spec = template("mlp", input_size=SIZE)
    spec.color_mode = "bgr"
    with pytest.raises(SpecError, match="color_mode") as info:
        build_model(spec, 3)
    assert info.value.layer is None
