"""A long decode (a first epoch) in worker processes: the same store bytes, the same bad
files with the same reasons, and no worker left behind. Real processes, real files."""
import os
import signal
import time

import numpy as np
import pytest

from tests.decoded import load_arrays
from tests.imagegen import make_class_folder
from training.data import cache_dir, open_dataset, open_images
from training.data import reader

BROKEN = b"\x89PNG\r\n\x1a\n broken"


@pytest.fixture(autouse=True)
def _stop_multiprocessing_helpers():
    """multiprocessing's fork server and resource tracker are the process's, started once
    and kept until it exits; stopped after each test here (once the pools' workers have
    gone) so that later tests, which fail on any stray child process, start clean."""
    yield
    from multiprocessing import forkserver, resource_tracker

    pid = forkserver._forkserver._forkserver_pid
    if pid:
        deadline = time.time() + 10
        while _children(pid) and time.time() < deadline:
            time.sleep(0.1)
        forkserver._forkserver._stop()
    resource_tracker._resource_tracker._stop()


def _children(pid: int) -> list[str]:
    try:
        with open(f"/proc/{pid}/task/{pid}/children", encoding="ascii") as f:
            return f.read().split()
    except OSError:
        return []


@pytest.fixture
def folder(tmp_path):
    root = make_class_folder(tmp_path / "d", per_class=40, size=20)
    (root / "cat" / "bad.png").write_bytes(BROKEN)  # a PNG signature, then garbage
    (root / "dog" / "empty.png").write_bytes(b"")
    (root / "fox" / "text.png").write_bytes(b"just some text, not an image")
    return root


def _fill_shuffled(root, monkeypatch, processes: int):
    """Read every row in shuffled batches of 16, as a first epoch does; returns
    ``(store file bytes, [(name, reason)] of bad files, pools used)``."""
    monkeypatch.setenv("WORKBENCH_DECODE_PROCESSES", str(processes))
    monkeypatch.setattr(reader, "PROCESS_MIN_FILES", 1)  # the test's 123 files count as many
    index = open_dataset(root)
    order = np.random.default_rng(1).permutation(len(index))
    with open_images(index, (12, 14), "grayscale") as data:
        for s in range(0, len(order), 16):
            data.read(order[s:s + 16])
        assert data.store.complete
        pool = data._procs
    folder = os.path.join(cache_dir(), "stores")
    (name,) = os.listdir(folder)
    files = {n: open(os.path.join(folder, name, n), "rb").read()
             for n in ("images.u8", "crc.u32", "state.u8", "manifest.json")}
    files["manifest.json"] = files["manifest.json"].split(b'"created"')[0]
    bad = sorted((os.path.basename(b.path), b.reason) for b in index.bad_files)
    return files, bad, pool


def test_worker_processes_fill_the_store_byte_for_byte_as_one_thread(folder, cache_env, monkeypatch):
    serial, bad_serial, none = _fill_shuffled(folder, monkeypatch, 0)
    assert none is None
    import shutil

    shutil.rmtree(cache_env)
    pooled, bad_pooled, pool = _fill_shuffled(folder, monkeypatch, 2)
    assert pool is not None and pool.workers == 2  # the processes did the decoding
    assert pooled == serial
    assert bad_pooled == bad_serial and [b[0] for b in bad_pooled] == ["bad.png", "empty.png", "text.png"]
    assert all(reason for _, reason in bad_pooled)
    assert pooled["state.u8"].count(2) == 3  # BAD, the rest OK
    assert pool.broken  # closed once the store was complete: no decoding left to do


def test_streaming_with_worker_processes_gives_the_same_batches(folder, cache_env, monkeypatch):
    monkeypatch.setattr(reader, "PROCESS_MIN_FILES", 1)
    monkeypatch.setenv("WORKBENCH_DECODE_PROCESSES", "0")
    reference = load_arrays(open_dataset(folder), 16, "rgb", use_cache=False)
    monkeypatch.setenv("WORKBENCH_DECODE_PROCESSES", "2")
    index = open_dataset(folder)
    with open_images(index, 16, "rgb", use_cache=False) as data:
        got = [data.read(data.rows[s:s + 32]) for s in range(0, len(data.rows), 32)]
        assert data._procs is not None and not data._procs.broken
    x = np.concatenate([g[0] for g in got])
    rows = np.concatenate([g[1] for g in got])
    assert np.array_equal(x, reference.x) and np.array_equal(rows, reference.rows)
    assert len(index.bad_files) == 3


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    with open(f"/proc/{pid}/stat", encoding="ascii") as f:  # a zombie has finished too
        return f.read().rsplit(")", 1)[1].split()[0] != "Z"


@pytest.mark.skipif(not os.path.isdir("/proc"), reason="reads /proc")
def test_a_killed_worker_falls_back_to_decoding_here(folder, cache_env, monkeypatch):
    monkeypatch.setattr(reader, "PROCESS_MIN_FILES", 1)
    monkeypatch.setenv("WORKBENCH_DECODE_PROCESSES", "0")
    reference = load_arrays(open_dataset(folder), 16, "rgb", use_cache=False)
    monkeypatch.setenv("WORKBENCH_DECODE_PROCESSES", "2")
    with open_images(open_dataset(folder), 16, "rgb") as data:
        first, _ = data.read(data.rows[:32])
        pids = data._procs.pids()
        assert len(pids) >= 1
        for pid in pids:
            os.kill(pid, signal.SIGKILL)
        rest, rest_rows = data.read(data.rows[32:])
        assert data._procs.broken and data.store.complete
    assert np.array_equal(np.concatenate([first, rest]), reference.x)
    deadline = time.time() + 10
    while any(_alive(p) for p in pids) and time.time() < deadline:
        time.sleep(0.1)
    assert not any(_alive(p) for p in pids)


_KILLED_WHILE_DECODING = """
    import os, signal, sys
    from training.data import open_dataset, open_images, reader
    reader.PROCESS_MIN_FILES = 1
    os.environ["WORKBENCH_DECODE_PROCESSES"] = "2"
    data = open_images(open_dataset(sys.argv[1]), 16, "rgb")
    data.read(data.rows[:32])
    print(" ".join(map(str, data._procs.pids())), flush=True)
    os.kill(os.getpid(), signal.SIGKILL)  # the training process dies mid-epoch
"""


@pytest.mark.skipif(not os.path.isdir("/proc"), reason="reads /proc")
def test_workers_do_not_outlive_a_killed_training_process(folder, cache_env):
    import subprocess
    import sys
    import textwrap

    root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))
    proc = subprocess.run([sys.executable, "-c", textwrap.dedent(_KILLED_WHILE_DECODING), str(folder)],
                          env=dict(os.environ, PYTHONPATH=root), capture_output=True, text=True,
                          timeout=120, check=False)
    assert proc.returncode == -signal.SIGKILL, proc.stderr
    pids = [int(p) for p in proc.stdout.split()]
    assert pids
    deadline = time.time() + 15
    while any(_alive(p) for p in pids) and time.time() < deadline:
        time.sleep(0.2)
    assert not any(_alive(p) for p in pids)
