"""The unknown rule's thumbnails made side by side equal Pillow's one image at a time
exactly: a saved rule's mean and covariance were fitted on the per-image ones, so a
one-level shift in a thumbnail would move every distance it measures."""
from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from training.trust import unknown


def _one_by_one(grays: np.ndarray, side: int = unknown.THUMB_SIDE) -> np.ndarray:
    return np.stack([np.asarray(Image.fromarray(np.ascontiguousarray(g)).resize((side, side), Image.BOX),
                                dtype=np.float32).ravel() / 255.0 for g in grays])


SIZES = [(1, 1), (3, 5), (5, 3), (7, 7), (8, 8), (9, 9), (11, 13), (13, 11), (17, 31), (28, 28),
         (31, 17), (32, 32), (37, 100), (100, 37), (96, 96), (127, 128), (128, 128), (224, 224),
         (300, 224), (224, 300)]


@pytest.mark.parametrize("h,w", SIZES)
def test_thumbnails_equal_pillow_one_image_at_a_time(h, w, monkeypatch):
    rng = np.random.default_rng(h * 1000 + w)
    grays = rng.integers(0, 256, (23, h, w), dtype=np.uint8)
    grays[0] = 255  # a white and a black image: the ends of the rounding
    grays[1] = 0
    monkeypatch.setattr(unknown, "STRIP_BYTES", 5 * h * w)  # several strips, the last one short
    got = unknown.thumbnails(grays[..., None])
    assert got.dtype == np.float32 and got.shape == (23, unknown.THUMB_SIDE ** 2)
    assert np.array_equal(got, _one_by_one(grays))


def test_colour_thumbnails_use_the_channel_mean():
    rng = np.random.default_rng(0)
    rgb = rng.integers(0, 256, (9, 28, 28, 3), dtype=np.uint8)
    gray = ((rgb[..., 0].astype(np.uint16) + rgb[..., 1] + rgb[..., 2]) // 3).astype(np.uint8)
    assert np.array_equal(unknown.thumbnails(rgb), _one_by_one(gray))
    assert unknown.thumbnails(np.zeros((0, 28, 28, 1), np.uint8)).shape == (0, 64)
