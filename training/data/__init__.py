"""Datasets: sources, index, split, decode, cache and decoded arrays (no TensorFlow import).

Typical use::

    index = open_dataset("path/to/folder")      # lists files, splits, reports bad ones
    size, mode = suggest_input(index)           # e.g. ((28, 28), "grayscale")
    data = load_arrays(index, size, mode)       # decoded once, cached on disk
"""
from .arrays import PreparedData, load_arrays, verify_images
from .cache import cache_dir, cache_size, clear_cache
from .decode import DecodeError, decode_image
from .index import SPLIT_NAMES, TEST, TRAIN, VALIDATION, BadFile, DatasetIndex
from .sources import open_dataset
from .spec import DatasetError, DatasetSpec
from .stats import image_stats, suggest_input

__all__ = [
    "BadFile", "DatasetError", "DatasetIndex", "DatasetSpec", "DecodeError", "PreparedData",
    "SPLIT_NAMES", "TEST", "TRAIN", "VALIDATION", "cache_dir", "cache_size", "clear_cache",
    "decode_image", "image_stats", "load_arrays", "open_dataset", "suggest_input", "verify_images",
]
