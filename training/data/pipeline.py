"""``tf.data`` input pipelines that read batches, never a whole dataset.

Only batch numbers go into TensorFlow: batch ``b`` of an epoch is turned into row
numbers by a seeded permutation of that epoch (:func:`epoch_order`), and into images by
a NumPy call (a gather from a memory map, or the parallel reader). So the order of a
run's batches depends only on the seed and the epoch, never on whether the pixels came
from files or from the store (a first run and a cached run see the same batches), nor on
whether the run was interrupted and resumed in between.

TensorFlow is imported inside the functions so ``training.data`` stays cheap to import.
Images stay uint8 (4x less memory than float32); the model rescales them itself.
"""
from __future__ import annotations

import logging

import numpy as np

log = logging.getLogger(__name__)

PARALLEL_BATCHES = 2  # batches being read at once: one decodes while the next one's reads wait
# Batches ready ahead of training. A fixed number, not AUTOTUNE: autotune grows its buffer
# the longer an epoch runs, so memory would grow with the dataset (measured: +8 MB for
# 10x the images at 128x128); 4 batches keep a CPU or GPU fed.
PREFETCH_BATCHES = 4
# Batches read by one call where every requested row is known to come back (arrays, a
# complete store without bad files): each ``tf.numpy_function`` call costs ~0.5 ms of
# Python and GIL hand-offs, which at 28x28 and batch 32 was a third of a small model's
# epoch (issue 21: 4.5 vs 3.4 CPU-s per 60,000 images); one read per GROUP_BYTES of
# pixels, split into batches again by ``rebatch`` inside tf.data, keeps the same batches.
GROUP_BYTES = 4 * 2**20
MAX_GROUP = 16
# Reads where rows may drop out (files still to decode or bad) hold a group twice (read and
# padded copy, _padded_groups) and decode where the store is not used: grouped only where
# the per-call cost matters next to the pixels (28x28 at batch 32: 16 batches in 0.4 MB;
# 128x128 RGB at batch 16: one batch per read, as before, so streaming memory stays flat).
PADDED_GROUP_BYTES = 2**20


def group_size(batch_size: int, row_shape, itemsize: int = 1, budget: int = GROUP_BYTES) -> int:
    """Batches per read for rows of ``row_shape`` (1 = one read per batch): as many as
    fit ``budget`` bytes, at most ``MAX_GROUP``; big images stay one batch per read (their
    per-call cost is nothing next to their pixels)."""
    row = max(1, int(np.prod(row_shape)) * int(itemsize))
    return int(max(1, min(MAX_GROUP, int(budget) // (max(1, int(batch_size)) * row))))


class EpochClock:
    """Which epoch a shuffled pipeline is serving; its batches' order is a function of
    ``(seed, epoch)`` only (:func:`epoch_order`).

    ``fit()`` sets ``epoch`` at the start of every epoch (``training.fit.callbacks
    .EpochClockCallback`` with Keras' own epoch number, which continues after a resume),
    so a resumed run sees the batches the uninterrupted run would have seen. tf.data's
    ``reshuffle_each_iteration`` cannot do that: its order depends on how many iterators
    were made before, and a resumed process starts counting again.
    """

    def __init__(self) -> None:
        self.epoch = 0


def epoch_order(n: int, seed: int, epoch: int) -> np.ndarray:
    """The shuffled order of ``range(n)`` for one epoch (same seed and epoch, same order)."""
    return np.random.default_rng([int(seed) & 0xFFFFFFFF, int(epoch)]).permutation(int(n))


def _batched(n: int, fetch, image_shape, batch_size: int, shuffle: bool, seed: int,
             image_dtype="uint8", every_row: bool = False, fetch_kept=None):
    """``fetch(positions int64) -> (images, int32 labels)`` over ``range(n)`` as tf.data.

    ``every_row``: ``fetch`` returns every requested row (no bad files to drop), so
    several batches can be read at once (:func:`group_size`) and split again without
    changing which rows make a batch. Otherwise, with ``fetch_kept(positions) -> (images,
    labels, kept mask over positions) or None``, several batches still come from one call
    and each keeps exactly the rows one read of its own would have kept (:func:`_padded_groups`).
    A shuffled dataset carries its :class:`EpochClock` as ``dataset.epoch_clock``."""
    import tensorflow as tf

    if batch_size < 1:
        raise ValueError(f"batch_size must be positive. Received: batch_size={batch_size}")
    n, batch_size = int(n), int(batch_size)
    dtype = tf.as_dtype(image_dtype)
    batches = -(-n // batch_size)
    clock = EpochClock() if shuffle and n > 1 else None
    orders: dict[int, np.ndarray] = {}

    def positions(b: int) -> np.ndarray:
        if clock is None:
            return np.arange(b * batch_size, min(n, (b + 1) * batch_size), dtype=np.int64)
        epoch = clock.epoch
        order = orders.get(epoch)
        if order is None:  # one permutation per epoch, kept while that epoch runs
            order = epoch_order(n, seed, epoch)
            orders.clear()
            orders[epoch] = order
        return order[b * batch_size:(b + 1) * batch_size]

    def call(b):
        x, y = fetch(positions(int(b)))
        return np.ascontiguousarray(x, image_dtype), np.asarray(y, np.int32)

    def reader(read, name):
        """``read(i) -> (images, labels)`` as a tf.data map function with known shapes."""
        def load(i):
            x, y = tf.numpy_function(read, [i], (dtype, tf.int32), name=name)
            x.set_shape((None, *image_shape))
            y.set_shape((None,))
            return x, y
        return load

    if every_row:
        group = group_size(batch_size, image_shape, dtype.size)
    elif fetch_kept is not None:
        group = group_size(batch_size, image_shape, dtype.size, PADDED_GROUP_BYTES)
    else:
        group = 1
    if group > 1 and not every_row:
        # Files that may still turn out bad (a first epoch that decodes, a store with bad
        # files): a bad file leaves its own batch, so batches cannot be cut by rebatch.
        ds = _padded_groups(batches, group, batch_size, positions, fetch, fetch_kept,
                            image_shape, image_dtype, dtype)
    elif group > 1:
        rows_per_read = group * batch_size

        def call_group(g):
            g = int(g)
            if clock is None:
                pos = np.arange(g * rows_per_read, min(n, (g + 1) * rows_per_read), dtype=np.int64)
            else:  # batch b's rows are positions(b): the same slices of the epoch's order
                pos = np.concatenate([positions(b) for b in
                                      range(g * group, min(batches, (g + 1) * group))])
            x, y = fetch(pos)
            if len(y) != len(pos):
                # A stored record that failed its check and whose file no longer decodes:
                # refill the read to its size so the batch count stays what Keras was told.
                log.warning("%d of %d rows could not be read; repeating others in their place",
                            len(pos) - len(y), len(pos))
                take = np.resize(np.arange(len(y)), len(pos)) if len(y) else None
                if take is None:
                    raise RuntimeError("no readable rows in a batch group")
                x, y = x[take], y[take]
            return np.ascontiguousarray(x, image_dtype), np.asarray(y, np.int32)

        ds = tf.data.Dataset.range(-(-batches // group))
        ds = ds.map(reader(call_group, "read_batches"), num_parallel_calls=PARALLEL_BATCHES,
                    deterministic=True)
        # Every read but the last holds whole batches, so the slices are batch b's rows.
        ds = ds.rebatch(batch_size)
    else:
        ds = tf.data.Dataset.range(batches)
        ds = ds.map(reader(call, "read_batch"), num_parallel_calls=PARALLEL_BATCHES,
                    deterministic=True)
    # Keras knows the epoch length up front (progress, no "ran out of data" warnings).
    ds = ds.apply(tf.data.experimental.assert_cardinality(batches))
    ds = ds.prefetch(PREFETCH_BATCHES)
    ds.epoch_clock = clock
    return ds


def _padded_groups(batches: int, group: int, batch_size: int, positions, fetch, fetch_kept,
                   image_shape, image_dtype, dtype):
    """Batches read ``group`` at a time where any row may drop out (issue 21: a first
    run's dataset is made before epoch 1 has decoded anything, so its later epochs paid
    one ``tf.numpy_function`` call per batch, 5.5 s an epoch against 3.0-3.6 s grouped).

    One call reads the group's rows (``fetch_kept``: in one read where every row is
    decoded and good, else None, and then one ``fetch`` per batch) and returns them padded
    to ``(group, batch_size, ...)`` with each batch's count of kept rows; tf.data unbatches
    and cuts each batch to its count. Batch ``b`` holds exactly what one read of
    ``positions(b)`` keeps, and a batch whose every file is bad gets ``fetch``'s
    replacement rows, as with per-batch reads."""
    import tensorflow as tf

    def call(g):
        parts = [positions(b) for b in range(int(g) * group, min(batches, (int(g) + 1) * group))]
        got = fetch_kept(np.concatenate(parts))
        if got is None:
            # Files still to decode (or bad): one read per batch, inside this one call. A
            # read of 512 undecided files decodes them as one batch, and its first slow file
            # read hands all the rest to the reader's thread pool: a decode-only first epoch
            # took 21 s instead of 10.5 s that way.
            per_batch = [fetch(part) for part in parts]
        else:
            x, y, kept = got
            per_batch, start, taken = [], 0, 0
            for part in parts:
                m = int(np.count_nonzero(kept[start:start + len(part)]))
                # A batch whose every row dropped out gets the per-batch read's replacement.
                per_batch.append((x[taken:taken + m], y[taken:taken + m]) if m else fetch(part))
                start, taken = start + len(part), taken + m
        out_x = np.zeros((len(parts), batch_size, *image_shape), image_dtype)
        out_y = np.zeros((len(parts), batch_size), np.int32)
        counts = np.zeros(len(parts), np.int32)
        for j, (xb, yb) in enumerate(per_batch):
            m = len(yb)
            out_x[j, :m], out_y[j, :m], counts[j] = xb, yb, m
        return out_x, out_y, counts

    def load(i):
        x, y, k = tf.numpy_function(call, [i], (dtype, tf.int32, tf.int32), name="read_batch_groups")
        x.set_shape((None, batch_size, *image_shape))
        y.set_shape((None, batch_size))
        k.set_shape((None,))
        return x, y, k

    ds = tf.data.Dataset.range(-(-batches // group))
    ds = ds.map(load, num_parallel_calls=PARALLEL_BATCHES, deterministic=True).unbatch()
    return ds.map(lambda x, y, k: (x[:k], y[:k]))


def make_dataset(x: np.ndarray, y: np.ndarray, batch_size: int, shuffle: bool = False, seed: int = 0):
    """Batches of ``(x, y)`` gathered from arrays (in RAM or memory-mapped: only the rows of
    one batch are copied at a time).

    Args:
        x: ``(N, ...)`` images (uint8) or features (float32), e.g. a ``np.memmap``.
        y: ``(N,)`` class indices (cast to int32).
        batch_size: samples per batch (the last batch may be smaller).
        shuffle: reshuffle every epoch, seeded.
        seed: shuffle seed, for repeatable runs.
    """
    if len(x) != len(y):
        raise ValueError(f"x and y must have the same length. Received: len(x)={len(x)}, len(y)={len(y)}")
    y = np.asarray(y, np.int32)

    def fetch(pos):
        order = np.argsort(pos, kind="stable")  # forward reads through a memory map
        out = np.empty((len(pos), *x.shape[1:]), x.dtype)
        out[order] = x[pos[order]]
        return out, y[pos]

    return _batched(len(x), fetch, x.shape[1:], batch_size, shuffle, seed, x.dtype.name,
                    every_row=True)


def rows_dataset(data, rows, batch_size: int, shuffle: bool = False, seed: int = 0):
    """Batches of index ``rows`` of an :class:`~training.data.images.ImageData` (the store,
    or the parallel reader where rows are not decoded yet). Bad files are left out of
    their batch."""
    rows = np.asarray(rows, np.int64)
    labels = np.asarray(data.index.labels, np.int32)

    def fetch(pos):
        x, kept = data.read(rows[pos])
        start = 0
        while not len(kept) and start < len(rows):
            # Every file of this batch was bad: an empty batch would make the loss NaN,
            # so take the first good rows instead (the same ones in every run).
            x, kept = data.read(rows[start:start + len(pos)])
            start += len(pos)
        return x, labels[kept]

    def fetch_kept(pos):
        """Rows ``pos`` in one read, with a mask of those kept, where every one is decoded
        and good (the store is complete: a first run's later epochs); else None."""
        wanted = rows[pos]
        if not data.reads_every_row(wanted):
            return None
        x, kept = data.read(wanted)  # the kept rows, in the order asked for
        mask = np.ones(len(wanted), bool) if len(kept) == len(wanted) else np.isin(wanted, kept)
        return x, labels[kept], mask

    return _batched(len(rows), fetch, data.shape, batch_size, shuffle, seed,
                    every_row=data.reads_every_row(rows), fetch_kept=fetch_kept)
