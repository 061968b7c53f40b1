"""Penultimate features: the head's input, batched, for rows, splits and run folders."""
from __future__ import annotations

import numpy as np
import pytest

from tests.training.trainutil import tiny_spec


@pytest.fixture(scope="module")
def cnn_model():
    import keras

    from training.models import build_model

    keras.utils.set_random_seed(1)
    return build_model(tiny_spec("cnn", size=16), 3)


def _images(n, seed=0):
    return np.random.default_rng(seed).integers(0, 256, size=(n, 16, 16, 3), dtype=np.uint8)


def test_features_are_the_heads_input(cnn_model):
    from training.features.embeddings import Embedder, head_layer

    emb = Embedder(cnn_model, batch_size=4)
    x = _images(10)
    feats, probs = emb.embed_batch(x, with_probabilities=True)
    head = head_layer(cnn_model)
    assert feats.shape == (10, emb.dim) and feats.dtype == np.float32
    assert emb.dim == head.input.shape[-1]
    # The head applied to the features gives the model's own output.
    np.testing.assert_allclose(np.asarray(head(feats)), probs, atol=1e-5)
    np.testing.assert_allclose(np.asarray(cnn_model(x.astype(np.float32), training=False)), probs,
                               atol=1e-5)


def test_logits_reproduce_the_probabilities(cnn_model):
    from training.features.embeddings import Embedder

    emb = Embedder(cnn_model, batch_size=4)
    feats, probs = emb.embed_batch(_images(7, seed=5), with_probabilities=True)
    z = emb.logits(feats, probs)
    assert z.shape == probs.shape
    e = np.exp(z - z.max(axis=1, keepdims=True))
    np.testing.assert_allclose(e / e.sum(axis=1, keepdims=True), probs, atol=1e-5)
    # Probabilities the head could not have given: no logits rather than wrong ones.
    assert emb.logits(feats, np.tile(np.float32([1, 0, 0]), (len(probs), 1))) is None


def test_rows_and_split_match_the_batch(cnn_model):
    from tests.decoded import PreparedData
    from training.data.index import TEST, TRAIN, VALIDATION
    from training.features.embeddings import Embedder
    from training.events import StopFlagEvents, Stopped

    x = _images(13, seed=2)
    splits = np.array([TRAIN, VALIDATION, TEST] * 4 + [VALIDATION], dtype=np.uint8)
    data = PreparedData(x=x, y=np.zeros(13, np.int32), splits=splits, rows=np.arange(13),
                        classes=["a", "b", "c"])
    emb = Embedder(cnn_model, batch_size=3)
    full = emb.embed_batch(x)
    out = emb.embed_split(data, VALIDATION)
    assert list(out.rows) == [1, 4, 7, 10, 12] and out.probabilities.shape == (5, 3)
    np.testing.assert_allclose(out.features, full[out.rows], atol=1e-5)
    sub = emb.embed_split(data, VALIDATION, limit=2, seed=3)
    assert len(sub.rows) == 2 and set(sub.rows) <= set(out.rows) and list(sub.rows) == sorted(sub.rows)
    events = StopFlagEvents()
    events.stop()
    with pytest.raises(Stopped):
        emb.embed_rows(x, None, events=events)


def test_bad_shape_names_the_shape(cnn_model):
    from training.features.embeddings import Embedder

    with pytest.raises(ValueError, match=r"Received: shape=\(2, 8, 8, 3\)"):
        Embedder(cnn_model).embed_batch(np.zeros((2, 8, 8, 3), np.uint8))


def test_split_of_memory_mapped_data(cnn_model, tmp_path):
    from tests.imagegen import make_class_folder
    from training.data import open_dataset, open_images
    from training.data.index import TRAIN
    from training.features.embeddings import Embedder

    index = open_dataset(str(make_class_folder(tmp_path / "d", per_class=5)))
    emb = Embedder(cnn_model, batch_size=4)
    with open_images(index, (16, 16), "rgb") as data:
        out = emb.embed_split(data, TRAIN)
        x, kept = data.read(out.rows)
    assert len(out.rows) == int((data.splits == TRAIN).sum())
    np.testing.assert_allclose(out.features, emb.embed_batch(x), atol=1e-5)
    assert list(out.labels) == [index.labels[r] for r in kept]
