"""Test configuration shared by every test.

Qt runs offscreen, TensorFlow stays quiet and single-process friendly, and caches/runs
go to per-session temporary folders so tests never touch the user's files.
"""
import os
import sys
import tempfile

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
os.environ.setdefault("KERAS_BACKEND", "tensorflow")
# Every training starts its process cold: a spare process per shown Training panel would
# import TensorFlow for nothing in most tests (tests/workbench/test_training_process.py
# switches it on).
os.environ.setdefault("WORKBENCH_SPARE_TRAINER", "0")
_tmp = tempfile.mkdtemp(prefix="workbench-tests-")
os.environ["WORKBENCH_CACHE_DIR"] = os.path.join(_tmp, "cache")
os.environ["WORKBENCH_RUNS_DIR"] = os.path.join(_tmp, "runs")
os.environ["WORKBENCH_SETTINGS_DIR"] = os.path.join(_tmp, "settings")
os.environ["WORKBENCH_LOG_DIR"] = os.path.join(_tmp, "logs")
os.environ["WORKBENCH_DATA_DIR"] = os.path.join(_tmp, "data")

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
if ROOT not in sys.path:
    sys.path.insert(0, ROOT)

from tests.imagegen import *  # noqa: E402, F403  (shared fixtures for tiny datasets)


import pytest  # noqa: E402

# What one pytest-xdist worker of this suite needs at its peak: the worker with TensorFlow,
# Keras and Qt loaded, the GUI tests' compute service and a training child beside it
# (measured: see docs/ARCHITECTURE.md, "The test suite").
WORKER_MB = 2500


def _available_mb() -> float | None:
    """MemAvailable from /proc/meminfo in MB (None off Linux or when unreadable)."""
    try:
        with open("/proc/meminfo", encoding="ascii") as f:
            for line in f:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) / 1024
    except (OSError, ValueError, IndexError):
        pass
    return None


@pytest.hookimpl(optionalhook=True)
def pytest_xdist_auto_num_workers(config):
    """``-n auto`` (scripts/test.sh): one worker per CPU this process may use (affinity
    and cgroup quota, as training sizes its thread pools: ``training.cpus``, no TensorFlow
    import), fewer where memory would not hold them. 0 = no workers, the tests run in
    this process as without pytest-xdist. ``PYTEST_XDIST_AUTO_NUM_WORKERS`` overrides."""
    raw = os.environ.get("PYTEST_XDIST_AUTO_NUM_WORKERS", "").strip()
    if raw.isdigit():
        return int(raw)
    from training.cpus import usable_cpus

    workers = usable_cpus()
    memory = _available_mb()
    if memory is not None:
        workers = min(workers, int(memory // WORKER_MB))
    return workers if workers > 1 else 0


@pytest.fixture
def workbench_log(tmp_path, monkeypatch):
    """The app's rotating log file (``training.logs.setup_logging``) in ``tmp_path``, as
    ``app.main()`` installs it; the handlers are removed again afterwards. Yields its path."""
    import logging

    from training import logs

    monkeypatch.setenv("WORKBENCH_LOG_DIR", str(tmp_path / "logs"))
    root = logging.getLogger()
    before, level = list(root.handlers), root.level
    for h in [h for h in before if isinstance(h, logs._WorkbenchFileHandler)]:
        root.removeHandler(h)
    path = logs.setup_logging()
    yield path
    for h in list(root.handlers):
        if h not in before:
            root.removeHandler(h)
            h.close()
    for h in before:
        if h not in root.handlers:
            root.addHandler(h)
    root.setLevel(level)
