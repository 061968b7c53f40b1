import numpy as np

from tests.imagegen import class_image, make_class_folder, make_idx_dataset, write_image
from training.data import image_stats, open_dataset, suggest_input
from tests.decoded import load_arrays


def test_mnist_like_folders_suggest_native_grayscale(tmp_path):
    rng = np.random.default_rng(0)
    for c in range(3):
        for i in range(5):
            write_image(tmp_path / "digits" / str(c) / f"{i}.png", class_image(c, 28, rng, channels=1))
    index = open_dataset(tmp_path / "digits")
    assert suggest_input(index) == ((28, 28), "grayscale")
    stats = index.image_stats()
    assert stats["width"] == {"min": 28, "median": 28, "max": 28} and stats["modes"] == {"L": 15}


def test_photos_suggest_a_capped_rgb_size(tmp_path):
    rng = np.random.default_rng(0)
    for c in range(2):
        for i in range(4):
            write_image(tmp_path / "photos" / f"c{c}" / f"{i}.jpg", class_image(c, 300, rng))
    assert suggest_input(open_dataset(tmp_path / "photos")) == ((128, 128), "rgb")
    small = make_class_folder(tmp_path / "small", size=40)
    assert suggest_input(open_dataset(small)) == ((40, 40), "rgb")


def test_array_sources_suggest_their_shape(tmp_path):
    index = open_dataset(make_idx_dataset(tmp_path / "idx", size=12))
    assert suggest_input(index) == ((12, 12), "grayscale")
    assert image_stats(index)["height"]["median"] == 12


def test_make_dataset_batches_uint8_and_int32(class_folder, cache_env):
    import tensorflow as tf

    from training.data.pipeline import make_dataset

    data = load_arrays(open_dataset(class_folder), 16, "rgb")
    ds = make_dataset(data.x, data.y, batch_size=8)
    batches = list(ds)
    assert len(batches) == 5 and batches[-1][0].shape == (4, 16, 16, 3)
    assert batches[0][0].dtype == tf.uint8 and batches[0][1].dtype == tf.int32
    assert np.array_equal(np.concatenate([b[1].numpy() for b in batches]), data.y)
    shuffled = make_dataset(data.x, data.y, batch_size=36, shuffle=True, seed=3)
    first = next(iter(shuffled))[1].numpy()
    assert np.array_equal(next(iter(shuffled))[1].numpy(), first)  # same epoch, same order
    shuffled.epoch_clock.epoch = 1  # what fit() does at each epoch's start
    second = next(iter(shuffled))[1].numpy()
    assert sorted(first) == sorted(data.y) and not np.array_equal(first, data.y)
    assert not np.array_equal(first, second)  # reshuffled every epoch
    again = next(iter(make_dataset(data.x, data.y, batch_size=36, shuffle=True, seed=3)))[1].numpy()
    assert np.array_equal(first, again)  # same seed, same first epoch order


class _CountingRows:
    """An array that counts its row reads (``make_dataset`` asks for ``len``, ``shape``,
    ``dtype`` and ``[positions]``)."""

    def __init__(self, x):
        self.x, self.reads = x, 0
        self.shape, self.dtype = x.shape, x.dtype

    def __len__(self):
        return len(self.x)

    def __getitem__(self, pos):
        self.reads += 1
        return self.x[pos]


def _epoch(ds, epoch):
    if ds.epoch_clock is not None:
        ds.epoch_clock.epoch = epoch
    return [(x.numpy(), y.numpy()) for x, y in ds]


def test_grouped_reads_give_the_very_batches_of_one_read_per_batch(monkeypatch):
    import tensorflow as tf

    from training.data import pipeline

    x = np.arange(1000 * 4 * 4, dtype=np.uint32).astype(np.uint8).reshape(1000, 4, 4, 1)
    y = np.arange(1000) % 7
    for batch, shuffle in ((32, True), (30, False), (7, True)):
        grouped = _CountingRows(x)
        ds = pipeline.make_dataset(grouped, y, batch, shuffle, seed=3)
        assert tf.data.experimental.cardinality(ds).numpy() == -(-1000 // batch)
        got = _epoch(ds, 2)
        with monkeypatch.context() as m:
            m.setattr(pipeline, "group_size", lambda *a, **k: 1)
            single = _CountingRows(x)
            want = _epoch(pipeline.make_dataset(single, y, batch, shuffle, seed=3), 2)
        assert len(got) == len(want) == -(-1000 // batch)
        for (gx, gy), (wx, wy) in zip(got, want):
            assert np.array_equal(gx, wx) and np.array_equal(gy, wy)
        assert single.reads == len(want)
        assert grouped.reads == -(-len(want) // pipeline.MAX_GROUP)  # 16 batches per read


def test_only_rows_that_all_come_back_are_read_in_groups(class_folder, cache_env):
    from training.data import open_images
    from training.data.images import record_bad

    index = open_dataset(class_folder)
    data = open_images(index, 16, "rgb")
    rows = data.rows
    assert not data.reads_every_row(rows)  # files still to decode: any could be bad
    data.fill()
    assert data.reads_every_row(rows)
    record_bad(index, int(rows[5]), "test: unreadable")
    assert not data.reads_every_row(rows) and data.reads_every_row(rows[6:])
    data.close()


def test_rows_that_may_drop_out_are_read_in_groups_with_the_very_batches(tmp_path, cache_env,
                                                                         monkeypatch):
    """A first run's dataset is made before anything is decoded (issue 21): its batches
    come 16 to a call, each keeping what a read of its own keeps (a bad file drops out of
    its batch only, a batch of bad files gets the replacement rows). While files are still
    to decode each batch is its own read; once they are all decoded and good, a group is
    one read."""
    from training.data import open_images, pipeline

    root = make_class_folder(tmp_path / "data", per_class=40, size=8)
    paths = list(open_dataset(str(root)).paths)
    for i in (1, 8, 9, 10, 11, 37):  # rows 8-11: a whole batch of 4; all in the first group
        with open(paths[i], "wb") as f:
            f.write(b"not an image")
    for shuffle in (False, True):
        index = open_dataset(str(root))
        assert list(index.paths) == paths
        data = open_images(index, 8, "grayscale")
        reads, real_read = [], data.read
        monkeypatch.setattr(data, "read", lambda rows, reads=reads, real_read=real_read:
                            reads.append(len(rows)) or real_read(rows))
        assert not data.reads_every_row(data.rows)  # nothing decoded yet
        ds = pipeline.rows_dataset(data, data.rows, 4, shuffle, seed=3)
        got = {1: _epoch(ds, 1)}  # decodes every file on the way
        first_reads = list(reads)
        reads.clear()
        got[2] = _epoch(ds, 2)  # everything decided now
        monkeypatch.undo()
        with monkeypatch.context() as m:
            m.setattr(pipeline, "group_size", lambda *a, **k: 1)
            single = pipeline.rows_dataset(data, data.rows, 4, shuffle, seed=3)
            want = {e: _epoch(single, e) for e in (1, 2)}
        data.close()
        for e in (1, 2):
            assert len(got[e]) == len(want[e]) == 30
            for (gx, gy), (wx, wy) in zip(got[e], want[e]):
                assert np.array_equal(gx, wx) and np.array_equal(gy, wy)
            assert all(len(y) for _, y in got[e]) and sum(len(y) for _, y in got[e]) < 120
        assert max(first_reads) == 4  # decoding: one read per batch
        if not shuffle:
            assert len(got[1][2][1]) == 3  # the all-bad batch: the first good rows (0, 2, 3)
            # The second group (rows 64-119) has no bad file: one read; the first group's
            # 16 batches one each, the all-bad one twice (its replacement).
            assert sorted(reads) == [4] * 17 + [56]
