"""The unlabelled pool: images of a dataset that have no class (yet).

A folder of loose images, or loose images beside class folders, is a dataset too: its
loose images are *unlabelled* (``DatasetIndex.unlabelled``, sorted paths). They are never
rows of the index, so nothing that trains, evaluates or checks data health can mistake
them for a class: training uses labelled images only.

A label given in the app (the label overlay, ``training.data.overlay``) moves an
unlabelled image into the index when the dataset is opened; :func:`settle_pool` does
that, and splits those images, class by class, with the dataset's seed
(``stratified_split``), apart from the source's own images. The split of an image
labelled in the app can therefore change as more of its class are labelled: the split is
a function of the labels, as for class folders. Deleting a class (``classedits``) sends
its images back to the pool.
"""
from __future__ import annotations

import numpy as np

UNLABELLED = "unlabelled"   # what the app and the CLI call an image without a class


def remap_classes(index, edits) -> np.ndarray:
    """Apply the overlay's class edits to ``index.classes`` (in place) and return the
    source labels as numbers of the new class list (-1: a deleted class)."""
    source = list(index.classes)
    index.source_classes = source
    names = edits.names(source)
    position = {c: i for i, c in enumerate(names)}
    mapping = np.asarray([-1 if s in edits.deleted else position[edits.renamed.get(s, s)]
                          for s in source] or [0], np.int32)
    labels = np.asarray(index.labels, np.int64)
    index.classes = names
    return mapping[labels].astype(np.int32) if len(labels) else np.zeros(0, np.int32)


def settle_pool(index, overlay, excluded_paths: list, excluded_labels: list,
                excluded_splits: list) -> int:
    """Move the unlabelled images the overlay gives a class into ``index`` (split class by
    class), and the ones it excludes into the ``excluded_*`` lists (label -1, split -1).
    Returns how many joined the index."""
    from .split import stratified_split

    pool = list(getattr(index, "unlabelled", []) or [])
    if not pool or not len(overlay):
        return 0
    class_of = {c: i for i, c in enumerate(index.classes)}
    stay, joined, joined_labels = [], [], []
    for p in pool:
        k = overlay.key(p)
        if k in overlay.excluded:
            excluded_paths.append(p)
            excluded_labels.append(-1)
            excluded_splits.append(-1)
            continue
        label = class_of.get(overlay.labels.get(k))
        if label is None:
            stay.append(p)
        else:
            joined.append(p)
            joined_labels.append(label)
    index.unlabelled = stay
    if not joined:
        return 0
    spec = getattr(index, "spec", None)
    labels = np.asarray(joined_labels, np.int32)
    splits, _warnings = stratified_split(labels, index.classes, getattr(spec, "val_fraction", 0.1),
                                         getattr(spec, "test_fraction", 0.1), getattr(spec, "seed", 42))
    index.paths = list(index.paths) + joined
    index.labels = np.concatenate([np.asarray(index.labels, np.int32), labels])
    index.splits = np.concatenate([np.asarray(index.splits, np.uint8), splits.astype(np.uint8)])
    index.original_labels = np.concatenate([np.asarray(index.original_labels, np.int32),
                                            np.full(len(joined), -1, np.int32)])
    index._names = None
    return len(joined)


def class_name(classes, label) -> str:
    """The name of class number ``label``; ``"unlabelled"`` for -1 (never ``classes[-1]``)."""
    label = int(label)
    return classes[label] if 0 <= label < len(classes) else UNLABELLED


def class_totals(index, overlay=None) -> dict[str, int]:
    """``{class: labelled images}`` of ``index`` (every split, unusable files left out),
    plus the unlabelled images ``overlay`` gave a class since the index was opened."""
    counts = index.counts()
    totals = {c: sum(counts[s].get(c, 0) for s in counts) for c in index.classes}
    if overlay is not None and overlay.labels:
        keys = pool_keys(index, overlay)
        for k, label in overlay.labels.items():
            if label in totals and k in keys and k not in overlay.excluded:
                totals[label] += 1
    return totals


def pool_keys(index, overlay) -> frozenset:
    """The overlay keys of the pool's images (computed once per index)."""
    pool = getattr(index, "unlabelled", []) or []
    cached = getattr(index, "_pool_keys", None)
    if cached is None or cached[0] != len(pool):
        cached = (len(pool), frozenset(overlay.key(p) for p in pool))
        index._pool_keys = cached
    return cached[1]


def pool_left(index, overlay=None) -> int:
    """How many images of the pool are still unlabelled (and not excluded)."""
    pool = getattr(index, "unlabelled", []) or []
    if overlay is None or not (overlay.labels or overlay.excluded):
        return len(pool)
    names = set(index.classes)
    keys = pool_keys(index, overlay)
    done = sum(1 for k, label in overlay.labels.items()
               if k in keys and label in names and k not in overlay.excluded)
    return len(pool) - done - sum(1 for k in overlay.excluded if k in keys)
