import os

import numpy as np
import pytest

from tests.imagegen import class_image, make_class_folder, make_idx_dataset, write_image
from training.data import TRAIN, cache_dir, cache_size, clear_cache, open_dataset
from tests.decoded import load_arrays
from training.data import cache as cache_mod
from training.data import images as images_mod
from training.events import Events, StopFlagEvents, Stopped


class Recorder(Events):
    def __init__(self):
        self.progress, self.status = [], []

    def on_progress(self, done, total, what):
        self.progress.append((done, total, what))

    def on_status(self, message):
        self.status.append(message)


def _forbid_decoding(monkeypatch):
    def boom(*_a, **_k):
        raise AssertionError("decoded although the cache should have answered")
    monkeypatch.setattr(images_mod, "decode_paths", boom)


def _store_folder():
    root = os.path.join(cache_dir(), "stores")
    (name,) = os.listdir(root)
    return os.path.join(root, name)


def test_load_arrays_matches_the_index(class_folder, cache_env):
    index = open_dataset(class_folder)
    rec = Recorder()
    data = load_arrays(index, (12, 10), "rgb", rec)
    assert data.x.shape == (36, 12, 10, 3) and data.x.dtype == np.uint8
    assert data.y.dtype == np.int32 and data.splits.dtype == np.uint8 and data.rows.dtype == np.int64
    assert np.array_equal(data.y, index.labels) and np.array_equal(data.splits, index.splits)
    assert data.classes == index.classes and not data.cache_hit and data.decoded == 36
    assert rec.progress[-1] == (36, 36, "Decoding images")
    gray = load_arrays(index, 16, "grayscale")
    assert gray.x.shape == (36, 16, 16, 1)
    x, y = gray.subset(TRAIN)
    assert len(x) == len(y) == (index.splits == TRAIN).sum()


def test_second_load_decodes_nothing(class_folder, cache_env, monkeypatch):
    index = open_dataset(class_folder)
    first = load_arrays(index, 16, "rgb")
    assert cache_size() > first.x.nbytes
    _forbid_decoding(monkeypatch)
    again = load_arrays(open_dataset(class_folder), 16, "rgb")
    assert again.cache_hit and again.decoded == 0
    assert np.array_equal(first.x, again.x)


def test_changed_file_or_settings_miss_the_cache(class_folder, cache_env):
    index = open_dataset(class_folder)
    load_arrays(index, 16, "rgb")
    assert not load_arrays(index, 8, "rgb").cache_hit
    assert not load_arrays(index, 16, "grayscale").cache_hit
    p = index.paths[0]
    st = os.stat(p)
    os.utime(p, ns=(st.st_atime_ns, st.st_mtime_ns + 10**9))
    assert not load_arrays(index, 16, "rgb").cache_hit


@pytest.mark.parametrize("damage", ["flip", "truncate", "manifest"])
def test_corrupt_store_is_detected_and_repaired(class_folder, cache_env, damage):
    index = open_dataset(class_folder)
    good = np.array(load_arrays(index, 16, "rgb").x)
    images = os.path.join(_store_folder(), "images.u8")
    if damage == "flip":  # one record's pixels: its CRC no longer matches, it is decoded again
        with open(images, "r+b") as f:
            f.seek(-100, os.SEEK_END)
            byte = f.read(1)
            f.seek(-100, os.SEEK_END)
            f.write(bytes([byte[0] ^ 0x55]))
    elif damage == "truncate":
        with open(images, "r+b") as f:
            f.truncate(os.path.getsize(images) // 2)
    else:
        with open(os.path.join(_store_folder(), "manifest.json"), "w") as f:
            f.write("{not json")
    again = load_arrays(index, 16, "rgb")
    assert np.array_equal(np.asarray(again.x), good)
    if damage == "flip":
        assert again.decoded == 1  # only the damaged record
    elif damage == "truncate":
        assert not again.cache_hit and again.decoded == len(index)
    else:  # records are intact; only the seal is missing: nothing is decoded, it is resealed
        assert not again.cache_hit and again.decoded == 0
    assert load_arrays(index, 16, "rgb").cache_hit  # the repaired store is trusted again


def test_cache_is_bounded_lru_and_clearable(tmp_path, cache_env, monkeypatch):
    sets = [open_dataset(make_class_folder(tmp_path / f"d{i}", per_class=10)) for i in range(3)]
    entry = 30 * (32 * 32 * 3 + 5) + 3 * 4096
    monkeypatch.setenv("WORKBENCH_CACHE_MAX_MB", str(2.5 * entry / 2**20))
    for index in sets:
        load_arrays(index, 32, "rgb")
        assert cache_size() <= 2.5 * entry
    # The oldest store (d0) was evicted; d1 and d2 are still cached.
    assert not load_arrays(sets[0], 32, "rgb").cache_hit
    assert load_arrays(sets[2], 32, "rgb").cache_hit
    assert clear_cache() > 0 and cache_size() == 0
    assert not load_arrays(sets[2], 32, "rgb").cache_hit
    # A dataset bigger than the whole budget is streamed, not stored.
    monkeypatch.setenv("WORKBENCH_CACHE_MAX_MB", "0.001")
    clear_cache()
    data = load_arrays(sets[1], 32, "rgb")
    assert len(data.x) == 30 and cache_size() == 0


def test_clear_cache_keeps_a_store_in_use(class_folder, cache_env):
    from training.data import open_images, stores_in_use

    index = open_dataset(class_folder)
    with open_images(index, 8, "rgb") as data:
        data.fill()
        assert stores_in_use() == 1
        assert clear_cache() == 0 and cache_size() > 0  # refused: a run is reading it
        x, _ = data.read(data.rows[:4])
        assert x.shape == (4, 8, 8, 3)
    assert stores_in_use() == 0
    assert clear_cache() > 0 and cache_size() == 0


def test_clear_cache_never_touches_foreign_files(cache_env, class_folder):
    os.makedirs(os.path.join(cache_dir(), "arrays"))
    os.makedirs(os.path.join(cache_dir(), "stores", "mine"))
    mine = os.path.join(cache_dir(), "arrays", "notes.npy")
    other = os.path.join(cache_dir(), "keep.txt")
    theirs = os.path.join(cache_dir(), "stores", "mine", "images.u8")
    for p in (mine, other, theirs):
        with open(p, "w") as f:
            f.write("user data")
    load_arrays(open_dataset(class_folder), 8, "rgb")
    clear_cache()
    assert os.path.exists(mine) and os.path.exists(other) and os.path.exists(theirs)


def test_cache_dir_follows_the_environment(tmp_path, monkeypatch):
    monkeypatch.setenv("WORKBENCH_CACHE_DIR", str(tmp_path / "c"))
    assert cache_dir() == str(tmp_path / "c")
    monkeypatch.delenv("WORKBENCH_CACHE_DIR")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    if os.name == "posix" and not os.uname().sysname == "Darwin":
        assert cache_dir() == str(tmp_path / "xdg" / "image-workbench")


def test_decode_failures_are_reported_once_and_dropped(class_folder, cache_env):
    (class_folder / "dog" / "broken.png").write_bytes(b"\x89PNG\r\n\x1a\n garbage")
    index = open_dataset(class_folder)
    assert index.bad_files == []
    for _ in range(2):  # the second call comes from the cache and must not duplicate
        data = load_arrays(index, 16, "rgb")
        assert len(data.x) == len(index) - 1
        assert [b.path for b in index.bad_files] == [str(class_folder / "dog" / "broken.png")]
    assert str(class_folder / "dog" / "broken.png") not in [index.paths[r] for r in data.rows]
    assert np.array_equal(data.y, index.labels[data.rows])


def test_stop_request_interrupts_decoding_and_the_next_call_continues(class_folder, cache_env):
    class StopAfterFirstChunk(StopFlagEvents):
        def on_progress(self, done, total, what):
            self.stop()

    index = open_dataset(class_folder)
    events = StopAfterFirstChunk()
    from training.data import open_images

    with open_images(index, 16, "rgb") as data, pytest.raises(Stopped):
        data.fill(events, chunk=8)
    assert not os.path.exists(os.path.join(_store_folder(), "manifest.json"))  # not sealed
    again = load_arrays(index, 16, "rgb")
    assert 0 < again.decoded < len(index)  # continued, not started over
    assert np.array_equal(np.asarray(again.x), np.asarray(load_arrays(index, 16, "rgb", use_cache=False).x))


def test_parallel_reader_gives_the_same_pixels(tmp_path, cache_env, monkeypatch):
    make_class_folder(tmp_path / "d", per_class=40)
    (tmp_path / "d" / "cat" / "bad.png").write_bytes(b"\x89PNG\r\n\x1a\n broken")
    index = open_dataset(tmp_path / "d")
    monkeypatch.setenv("WORKBENCH_DECODE_WORKERS", "1")  # reads in threads, decodes here
    serial = load_arrays(index, 16, "rgb", use_cache=False)
    assert len(serial.x) == 120 and len(serial.failures) == 1
    monkeypatch.setenv("WORKBENCH_DECODE_WORKERS", "4")  # threads read and decode
    rec = Recorder()
    threaded = load_arrays(open_dataset(tmp_path / "d"), 16, "rgb", rec, use_cache=False)
    assert np.array_equal(serial.x, threaded.x) and np.array_equal(serial.rows, threaded.rows)
    assert rec.progress[-1][:2] == (121, 121)
    # Reads slower than the page cache (every read, here) go to the pool's threads.
    from training.data import reader

    monkeypatch.setenv("WORKBENCH_DECODE_WORKERS", "1")
    monkeypatch.setattr(reader, "INLINE_READ_S", -1.0)
    pooled = load_arrays(open_dataset(tmp_path / "d"), 16, "rgb", use_cache=False)
    assert np.array_equal(serial.x, pooled.x) and np.array_equal(serial.rows, pooled.rows)


def test_array_sources_are_resized_without_files(tmp_path, cache_env):
    index = open_dataset(make_idx_dataset(tmp_path / "idx"))
    native = load_arrays(index, (8, 8), "grayscale")
    assert np.array_equal(native.x[:, :, :, 0], index.arrays)
    rgb = load_arrays(index, (16, 12), "rgb")
    assert rgb.x.shape == (60, 16, 12, 3) and np.array_equal(rgb.x[..., 0], rgb.x[..., 2])
    assert cache_size() == 0


def test_file_deleted_after_indexing_is_reported(class_folder, cache_env):
    index = open_dataset(class_folder)
    gone = index.paths[5]
    os.remove(gone)
    data = load_arrays(index, 8, "rgb")
    assert len(data.x) == len(index) - 1
    assert [(b.path, "cannot read file" in b.reason) for b in index.bad_files] == [(gone, True)]


def test_cache_key_depends_on_every_input():
    base = (["a.png", "b.png"], [(10, 1), (20, 2)], (8, 8), "rgb")
    key = cache_mod.make_key(*base)
    assert key == cache_mod.make_key(*base) and len(key) == 64
    assert key != cache_mod.make_key(["a.png", "c.png"], *base[1:])
    assert key != cache_mod.make_key(base[0], [(10, 1), (20, 3)], *base[2:])
    assert key != cache_mod.make_key(*base[:2], (8, 9), "rgb")
    assert key != cache_mod.make_key(*base[:3], "grayscale")


def test_odd_images_in_a_folder_dataset(tmp_path, cache_env):
    from PIL import Image
    rng = np.random.default_rng(0)
    for c in ("a", "b"):
        for i in range(3):
            write_image(tmp_path / "d" / c / f"{i}.png", class_image(i, 16, rng))
    Image.fromarray(class_image(0, 40)).save(tmp_path / "d" / "a" / "big.webp")
    data = load_arrays(open_dataset(tmp_path / "d"), 16, "rgb")
    assert len(data.x) == 7
