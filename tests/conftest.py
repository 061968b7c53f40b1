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
