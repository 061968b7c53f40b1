"""Helpers for the model tests: tiny random images and a compile that matches the head
(what training.fit.train does)."""
import numpy as np

def images(n, size, channels, seed=0):
    """Random uint8 images as float32 0..255, the model's input contract."""
    rng = np.random.default_rng(seed)
    return rng.integers(0, 256, (n, size[0], size[1], channels)).astype(np.float32)


def compile_for(model, num_classes):
    import keras

    loss = ("binary_crossentropy" if num_classes == 2 else "sparse_categorical_crossentropy")
    # run_eagerly: one step on a tiny batch; tracing a tf.function would cost more than
    # the step itself. It is the same Keras train_step either way.
    model.compile(optimizer=keras.optimizers.Adam(1e-3), loss=loss, metrics=["accuracy"],
                  run_eagerly=True)
    return model


def train_step(model, num_classes, x):
    """One real optimisation step; returns the weights before it, to prove they moved."""
    compile_for(model, num_classes)
    y = np.arange(len(x)) % num_classes
    before = [w.copy() for w in model.get_weights()]
    model.fit(x, y, batch_size=len(x), epochs=1, verbose=0)
    return before


def write_legacy_h5(model, path):
    """Writes weights in the legacy HDF5 layout of the files keras.applications
    downloads (keras 3's own save_weights only writes ``.weights.h5``)."""
    import h5py
    from keras.src.legacy.saving import legacy_h5_format

    with h5py.File(path, "w") as f:
        legacy_h5_format.save_weights_to_hdf5_group(f, model)


def small_mobilenet(**changes):
    """MobileNetV2 at its smallest: alpha 0.35, 32x32 (builds in about a second)."""
    from training.models import template

    options = {"alpha": 0.35, "weights": "random", **changes}
    return template("mobilenet_v2", input_size=(32, 32), **options)
