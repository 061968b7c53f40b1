"""Datasets: sources, index, split, decode, the memory-mapped store and batch pipelines
(no TensorFlow import).

Typical use::

    index = open_dataset("path/to/folder")        # lists files, splits, reports bad ones
    size, mode = suggest_input(index)             # e.g. ((28, 28), "grayscale")
    with open_images(index, size, mode) as data:  # batches from the store / the reader
        ds = data.dataset(data.split_rows(TRAIN), batch_size=32, shuffle=True, seed=0)
"""
from .cache import cache_dir, cache_size, clear_cache, stores_in_use
from .decode import (
    decode_image,
    decode_to_fit,
    fit_in_box,
    resize_to,
)
from .formats import IMAGE_EXTS, DecodeError
from .images import ImageData, open_images, verify_images
from .index import SPLIT_NAMES, TEST, TRAIN, VALIDATION, BadFile, DatasetIndex
from .sources import open_dataset
from .spec import DatasetError, DatasetSpec
from .stats import image_stats, suggest_input

__all__ = [
    "IMAGE_EXTS",
    "SPLIT_NAMES",
    "TEST",
    "TRAIN",
    "VALIDATION",
    "BadFile",
    "DatasetError",
    "DatasetIndex",
    "DatasetSpec",
    "DecodeError",
    "ImageData",
    "cache_dir",
    "cache_size",
    "clear_cache",
    "decode_image",
    "decode_to_fit",
    "fit_in_box",
    "image_stats",
    "open_dataset",
    "open_images",
    "resize_to",
    "stores_in_use",
    "suggest_input",
    "verify_images",
]
