"""Transfer learning with a small MobileNetV2 (alpha 0.35, 32x32): weights from files and
from the Keras cache, the missing-weights message, fine-tuning and bottleneck features.

Each test builds the backbone once or twice at most: a build takes seconds on 2 cores.
"""
import numpy as np
import pytest

from tests.training.models.helpers import (compile_for, images, small_mobilenet, train_step,
                                           write_legacy_h5)
from training.models import (SpecError, backbone_layer_count, backbone_weights_file,
                             build_model, build_parts, can_precompute_features,
                             find_cached_weights, load_model, set_trainable_for_fine_tune,
                             template)

SIZE = (32, 32)


def _changed(before, after):
    return [not np.array_equal(a, b) for a, b in zip(before, after)]


@pytest.fixture(scope="module")
def saved_backbone(tmp_path_factory):
    """A random small MobileNetV2's weights, saved in both file formats."""
    folder = tmp_path_factory.mktemp("weights")
    backbone = build_model(small_mobilenet(), 2).get_layer("mobilenet_v2")
    new_format = str(folder / "backbone.weights.h5")
    backbone.save_weights(new_format)
    legacy = str(folder / "legacy.h5")
    write_legacy_h5(backbone, legacy)
    return {"weights": [w.copy() for w in backbone.get_weights()], "file": new_format,
            "legacy": legacy}


def test_frozen_mobilenet_trains_its_head_and_reloads(tmp_path):
    spec = small_mobilenet()
    spec.color_mode = "grayscale"
    spec.augmentation.flip = "horizontal"
    parts = build_parts(spec, 3)
    assert parts.features is None and parts.head is None  # augmentation is on
    model = parts.model
    assert model.get_layer("gray_to_rgb").output.shape[-1] == 3
    backbone = model.get_layer("mobilenet_v2")
    frozen = [w.copy() for w in backbone.get_weights()]
    head = [w.copy() for w in model.get_layer("predictions").get_weights()]
    x = images(6, SIZE, 1)
    train_step(model, 3, x)
    assert not any(_changed(frozen, backbone.get_weights()))  # BN statistics included
    assert all(_changed(head, model.get_layer("predictions").get_weights()))
    expected = model(x).numpy()
    model.save(tmp_path / "m.keras")
    loaded = load_model(tmp_path / "m.keras")
    np.testing.assert_allclose(loaded(x).numpy(), expected, rtol=1e-5, atol=1e-6)


def test_backbone_weights_load_from_a_file_the_user_picked(saved_backbone):
    # Equality with the saved arrays can only come from the file: a random build differs.
    model = build_model(small_mobilenet(weights=saved_backbone["file"]), 3)
    for want, got in zip(saved_backbone["weights"], model.get_layer("mobilenet_v2").get_weights()):
        np.testing.assert_array_equal(got, want)


def test_imagenet_weights_come_from_the_keras_cache(saved_backbone, keras_home):
    name = backbone_weights_file("mobilenet_v2", SIZE, alpha=0.35)
    assert find_cached_weights("mobilenet_v2", SIZE, alpha=0.35) is None
    target = keras_home / "models" / name
    target.write_bytes(open(saved_backbone["legacy"], "rb").read())
    assert find_cached_weights("mobilenet_v2", SIZE, alpha=0.35) == str(target)
    model = build_model(small_mobilenet(weights="imagenet"), 2)
    for want, got in zip(saved_backbone["weights"], model.get_layer("mobilenet_v2").get_weights()):
        np.testing.assert_array_equal(got, want)


def test_missing_imagenet_weights_say_which_file_and_where(keras_home):
    spec = template("mobilenet_v2")  # 96x96, alpha 1.0, weights="imagenet"
    with pytest.raises(SpecError) as info:
        build_model(spec, 5)
    message = str(info.value)
    name = "mobilenet_v2_weights_tf_dim_ordering_tf_kernels_1.0_96_no_top.h5"
    assert f"missing file {name}" in message
    assert str(keras_home / "models" / name) in message
    assert "choose a weights file" in message and "random" in message
    # It says how to download (a button sits next to it), never "never downloads".
    assert "Download ImageNet weights" in message and "never download" not in message
    assert info.value.layer is None


def test_bad_weights_files_give_a_clear_error(saved_backbone, tmp_path):
    with pytest.raises(SpecError, match=r"backbone\.weights\.h5 does not fit the MobileNetV2 "
                                        r"backbone \(alpha 0.5"):
        build_model(small_mobilenet(weights=saved_backbone["file"], alpha=0.5), 2)
    with pytest.raises(SpecError, match="weights file does not exist"):
        build_model(small_mobilenet(weights=str(tmp_path / "nope.h5")), 2)
    junk = tmp_path / "junk.h5"
    junk.write_text("not hdf5")
    with pytest.raises(SpecError, match=r"junk\.h5 is not an HDF5 file"):
        build_model(small_mobilenet(weights=str(junk)), 2)
    text = tmp_path / "weights.txt"
    text.write_text("x")
    with pytest.raises(SpecError, match=r"must be a Keras weights file ending in"):
        build_model(small_mobilenet(weights=str(text)), 2)


def test_fine_tuning_unfreezes_from_layer_n_but_keeps_batch_norm_frozen():
    import keras

    spec = small_mobilenet()
    model = build_model(spec, 3)
    x = images(6, SIZE, 3)
    np.testing.assert_allclose(  # preprocessing inside the model, as Keras defines it
        model.get_layer("preprocess")(x).numpy(),
        keras.applications.mobilenet_v2.preprocess_input(x.copy()), atol=1e-6)
    backbone = model.get_layer("mobilenet_v2")
    count = backbone_layer_count(spec)
    assert count == len(backbone.layers) > 100
    assert not backbone.trainable_weights
    start = 100
    n = set_trainable_for_fine_tune(model, spec, start)
    layers = backbone.layers
    bn = [l for l in layers if isinstance(l, keras.layers.BatchNormalization)]
    assert bn and not any(l.trainable for l in bn)
    unfrozen = [l for l in layers[start:]
                if l.weights and not isinstance(l, keras.layers.BatchNormalization)]
    assert n == len(unfrozen) > 0 and all(l.trainable for l in unfrozen)
    assert not any(l.trainable for l in layers[:start] if l.weights)
    early = layers[1].get_weights()[0].copy()
    late = unfrozen[-1].get_weights()[0].copy()
    bn_stats = [w.copy() for w in bn[-1].get_weights()]
    train_step(model, 3, x)
    assert np.array_equal(layers[1].get_weights()[0], early)
    assert not np.array_equal(unfrozen[-1].get_weights()[0], late)
    for want, got in zip(bn_stats, bn[-1].get_weights()):
        np.testing.assert_array_equal(got, want)  # BN ran in inference mode
    with pytest.raises(SpecError, match=f"from 0 to {count - 1}.*fine_tune_from=9999"):
        set_trainable_for_fine_tune(model, spec, 9999)
    with pytest.raises(SpecError, match="needs a backbone"):
        set_trainable_for_fine_tune(model, template("mlp"), 3)


def test_head_trained_on_bottleneck_features_updates_the_full_model():
    spec = small_mobilenet(dense_units=8)
    assert can_precompute_features(spec)
    parts = build_parts(spec, 4)
    assert parts.features is not None and parts.head is not None
    x = images(6, SIZE, 3)
    features = parts.features(x).numpy()
    assert features.shape == (6, 1280)
    head_before = [w.copy() for w in parts.head.get_weights()]
    model_before = [w.copy() for w in parts.model.get_weights()]
    compile_for(parts.head, 4)
    parts.head.fit(features, np.arange(6) % 4, batch_size=6, epochs=1, verbose=0)
    moved = sum(_changed(head_before, parts.head.get_weights()))
    # (A random backbone's features are tiny, so not every kernel moves measurably; the
    # biases always do.) Exactly the head's changes show up in the full model.
    assert moved >= 2
    assert sum(_changed(model_before, parts.model.get_weights())) == moved
    for layer in parts.head.layers[1:]:
        assert parts.model.get_layer(layer.name) is layer
    np.testing.assert_allclose(parts.model(x).numpy(), parts.head(parts.features(x)).numpy(),
                               rtol=1e-5, atol=1e-6)


def test_feature_precomputation_needs_a_frozen_backbone_without_augmentation():
    spec = small_mobilenet()
    assert can_precompute_features(spec)
    spec.augmentation.rotation = 0.1
    assert not can_precompute_features(spec)
    spec = small_mobilenet()
    spec.backbone.trainable = True
    assert not can_precompute_features(spec)
    assert not can_precompute_features(template("cnn"))
    assert build_parts(template("cnn", input_size=(16, 16)), 2).head is None
