"""The memory-mapped decoded-image store under faults: a process killed while writing,
two processes on one store at once, a full disk."""
import hashlib
import os
import signal
import subprocess
import sys
import textwrap

import numpy as np
import pytest

from tests.imagegen import make_class_folder
from training.data import cache_dir, open_dataset, open_images
from tests.decoded import load_arrays
from training.data import cache as cache_mod
from training.data import store as store_mod

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))


def _run(code: str, *args, wait=True):
    env = dict(os.environ, PYTHONPATH=ROOT)
    cmd = [sys.executable, "-c", textwrap.dedent(code), *map(str, args)]
    if not wait:
        return subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, text=True)
    return subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=120, check=False)


def _store_folder():
    root = os.path.join(cache_dir(), "stores")
    (name,) = os.listdir(root)
    return os.path.join(root, name)


def _digest(x) -> str:
    return hashlib.sha256(np.ascontiguousarray(x).tobytes()).hexdigest()


_KILL_MID_RECORD = """
    import os, signal, sys
    from training.data import open_dataset, open_images
    from training.data import store
    calls = {"n": 0}
    real = store.pwrite
    def dying(fd, data, offset):
        calls["n"] += 1
        if calls["n"] == int(sys.argv[2]):  # a record's pixels, half written: then kill -9
            view = memoryview(data).cast("B")
            real(fd, view[: len(view) // 2], offset)
            os.kill(os.getpid(), signal.SIGKILL)
        real(fd, data, offset)
    store.pwrite = dying
    store.MAP_WRITES = False  # the per-record path (sparse files); the map's own test is below
    with open_images(open_dataset(sys.argv[1]), 16, "rgb") as data:
        data.fill(chunk=8)
"""


def test_kill_9_while_writing_leaves_a_store_that_is_continued(tmp_path, cache_env):
    root = make_class_folder(tmp_path / "d", per_class=20)
    # Writes per record: pixels, CRC, state. Call 3*25+1 is record 26's pixels.
    proc = _run(_KILL_MID_RECORD, root, 3 * 25 + 1)
    assert proc.returncode == -signal.SIGKILL, proc.stderr
    folder = _store_folder()
    assert not os.path.exists(os.path.join(folder, "manifest.json"))  # never looks complete
    reference = load_arrays(open_dataset(root), 16, "rgb", use_cache=False)
    again = load_arrays(open_dataset(root), 16, "rgb")
    assert again.decoded == len(reference.x) - 25  # the 25 finished records were kept
    assert np.array_equal(np.asarray(again.x), reference.x)  # the torn record was decoded again
    sealed = load_arrays(open_dataset(root), 16, "rgb")
    assert sealed.cache_hit and sealed.decoded == 0


_KILL_MID_BATCH = """
    import os, signal, sys
    from training.data import open_dataset, open_images
    from training.data import store
    calls = {"n": 0}
    real = store.ImageStore._mark
    def dying(state, rows):
        calls["n"] += 1
        if calls["n"] == int(sys.argv[2]):  # this batch's pixels and CRCs are in the map
            os.kill(os.getpid(), signal.SIGKILL)
        real(state, rows)
    store.ImageStore._mark = staticmethod(dying)
    with open_images(open_dataset(sys.argv[1]), 16, "rgb") as data:
        assert data.store._wmaps is not None, "records not written through the map"
        data.fill(chunk=8)
"""


def test_kill_9_between_a_batch_and_its_states_leaves_it_undecided(tmp_path, cache_env):
    root = make_class_folder(tmp_path / "d", per_class=20)
    proc = _run(_KILL_MID_BATCH, root, 4)  # batches of 8: three marked, the fourth not
    assert proc.returncode == -signal.SIGKILL, proc.stderr
    assert not os.path.exists(os.path.join(_store_folder(), "manifest.json"))
    reference = load_arrays(open_dataset(root), 16, "rgb", use_cache=False)
    with open_images(open_dataset(root), 16, "rgb") as data:
        assert len(data.store.undecided()) == len(reference.x) - 24
        assert len(data.store.damaged_rows()) == 0  # every record marked done is whole
    again = load_arrays(open_dataset(root), 16, "rgb")
    assert again.decoded == len(reference.x) - 24
    assert np.array_equal(np.asarray(again.x), reference.x)


def _store_bytes() -> dict:
    folder = _store_folder()
    return {n: open(os.path.join(folder, n), "rb").read() for n in ("images.u8", "crc.u32", "state.u8")}


def test_records_written_through_the_map_equal_the_per_record_writes(tmp_path, cache_env, monkeypatch):
    root = make_class_folder(tmp_path / "d", per_class=30)
    (tmp_path / "d" / "cat" / "bad.png").write_bytes(b"\x89PNG\r\n\x1a\n broken")
    order = np.random.default_rng(0).permutation(len(open_dataset(root)))  # as training reads
    stores = []
    for mapped in (False, True):
        monkeypatch.setattr(store_mod, "MAP_WRITES", mapped)
        with open_images(open_dataset(root), 16, "rgb") as data:
            assert (data.store._wmaps is not None) == mapped
            for s in range(0, len(order), 8):
                data.read(order[s:s + 8])
            assert data.store.complete
        stores.append(_store_bytes())
        cache_mod.clear_cache()
    assert stores[0] == stores[1]
    assert stores[1]["state.u8"].count(store_mod.BAD) == 1 and len(set(stores[1]["images.u8"])) > 2


_FILL_AND_DIGEST = """
    import hashlib, sys, time
    import numpy as np
    from training.data import open_dataset, open_images
    index = open_dataset(sys.argv[1])
    with open_images(index, 16, "rgb") as data:
        print("writer" if data.store is not None and data.store.writable else "reader", flush=True)
        h = hashlib.sha256()
        for x, y, rows in data.batches(data.rows, 8):
            h.update(np.ascontiguousarray(x).tobytes())
            time.sleep(0.01)  # overlap with the other process
    print(h.hexdigest(), flush=True)
"""


def test_two_processes_on_one_store_never_corrupt_it(tmp_path, cache_env):
    root = make_class_folder(tmp_path / "d", per_class=30)
    procs = [_run(_FILL_AND_DIGEST, root, wait=False) for _ in range(2)]
    outs = [p.communicate(timeout=120)[0].split() for p in procs]
    assert all(p.returncode == 0 for p in procs)
    reference = load_arrays(open_dataset(root), 16, "rgb", use_cache=False)
    assert [o[1] for o in outs] == [_digest(reference.x)] * 2  # both saw the right pixels
    roles = sorted(o[0] for o in outs)
    assert roles in (["reader", "writer"], ["writer", "writer"])  # one writes at a time
    with open_images(open_dataset(root), 16, "rgb") as data:
        assert data.cache_hit and len(data.store.damaged_rows()) == 0


def test_a_full_disk_falls_back_to_streaming(tmp_path, cache_env, monkeypatch):
    root = make_class_folder(tmp_path / "d", per_class=5)

    def no_room(fd, offset, length):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "posix_fallocate", no_room, raising=False)
    from tests.training.trainutil import Recorder

    rec = Recorder()
    with open_images(open_dataset(root), 16, "rgb", rec) as data:
        assert data.mode == "stream" and "decoding on the fly" in data.warning
        x, _ = data.read(data.rows)
    assert any("no room" in s for s in rec.statuses)
    assert np.array_equal(x, load_arrays(open_dataset(root), 16, "rgb", use_cache=False).x)
    stores = os.path.join(cache_dir(), "stores")
    assert not any(os.path.exists(os.path.join(stores, n, "images.u8")) for n in os.listdir(stores))


@pytest.mark.skipif(store_mod.fcntl is None, reason="needs POSIX file locks")
def test_a_store_being_written_is_read_not_rewritten(tmp_path, cache_env):
    root = make_class_folder(tmp_path / "d", per_class=6)
    index = open_dataset(root)
    with open_images(index, 16, "rgb") as writer:
        writer.read(writer.rows[:5])  # five records written, the store still open for writing
        with open_images(open_dataset(root), 16, "rgb") as other:
            assert other.store is not None and not other.store.writable
            x, rows = other.read(other.rows)
            assert other.decoded == len(rows) - 5  # used the five the writer has
        assert np.array_equal(x, load_arrays(open_dataset(root), 16, "rgb", use_cache=False).x)


def _rss_file_kb() -> int:
    with open("/proc/self/status", encoding="ascii") as f:
        for line in f:
            if line.startswith("RssFile:"):
                return int(line.split()[1])
    return 0


@pytest.mark.skipif(not os.path.exists("/proc/self/status"), reason="needs Linux /proc")
def test_reading_the_whole_store_keeps_resident_memory_bounded(tmp_path, cache_env, monkeypatch):
    """Pages read through the map would count in the process's RSS; they are released
    every RELEASE_BYTES (the kernel's page cache keeps them)."""
    root = make_class_folder(tmp_path / "d", classes=("a", "b"), per_class=40, size=16)
    index = open_dataset(root)
    load_arrays(index, 64, "rgb")  # 80 records of 12 KB: a ~1 MB store
    monkeypatch.setattr(store_mod, "RELEASE_BYTES", 64 * 1024)
    with open_images(open_dataset(root), 64, "rgb") as data:
        before = _rss_file_kb()
        for _ in range(3):
            for _batch in data.batches(data.rows, 4):
                pass
        grown = _rss_file_kb() - before
    assert grown < 400, f"resident file pages grew by {grown} KB for a 960 KB store"
