"""Label smoothing on integer labels equals Keras' one-hot smoothed cross-entropy, and a
model compiled with it saves and loads (safe mode) for resuming."""
import numpy as np
import pytest


def test_smoothed_sparse_crossentropy_matches_keras_one_hot():
    import keras

    from training.models.losses import SmoothedSparseCrossentropy, training_loss

    rng = np.random.default_rng(0)
    p = rng.random((6, 4)).astype("float32")
    p /= p.sum(axis=1, keepdims=True)
    y = np.array([0, 1, 2, 3, 1, 0])
    ours = SmoothedSparseCrossentropy(0.1)(y, p)
    ref = keras.losses.CategoricalCrossentropy(label_smoothing=0.1)(keras.utils.to_categorical(y, 4), p)
    assert float(ours) == pytest.approx(float(ref), rel=1e-5)
    plain = SmoothedSparseCrossentropy(0.0)(y, p)
    assert float(plain) == pytest.approx(float(keras.losses.SparseCategoricalCrossentropy()(y, p)), rel=1e-5)
    assert training_loss(False, 0.0) == "sparse_categorical_crossentropy"
    assert training_loss(True, 0.1).get_config()["label_smoothing"] == pytest.approx(0.1)


def test_a_model_compiled_with_it_loads_in_safe_mode(tmp_path):
    import keras

    from training.models import load_model
    from training.models.losses import SmoothedSparseCrossentropy

    model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(2, activation="softmax")])
    model.compile(optimizer="adam", loss=SmoothedSparseCrossentropy(0.2))
    model.save(tmp_path / "m.keras")
    loaded = load_model(tmp_path / "m.keras", compile=True)
    assert loaded.loss.label_smoothing == pytest.approx(0.2)
