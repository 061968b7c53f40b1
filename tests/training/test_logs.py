"""The log file: where it lives, that it rotates, and that a traceback reaches it."""
import logging
import os
import subprocess
import sys

import pytest

from training import logs


def test_the_log_folder_follows_the_environment(monkeypatch, tmp_path):
    monkeypatch.setenv("WORKBENCH_LOG_DIR", str(tmp_path / "here"))
    assert logs.log_dir() == tmp_path / "here"
    assert logs.log_file() == tmp_path / "here" / logs.LOG_FILE_NAME
    assert (tmp_path / "here").is_dir()


def test_tests_never_log_into_the_users_folder():
    assert "workbench-tests-" in os.environ["WORKBENCH_LOG_DIR"]


@pytest.mark.skipif(sys.platform in ("win32", "darwin"), reason="XDG layout is Linux's")
def test_without_the_variable_the_log_is_not_in_the_cache(monkeypatch, tmp_path):
    monkeypatch.delenv("WORKBENCH_LOG_DIR")
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path / "state"))
    assert logs.log_dir() == tmp_path / "state" / "image-workbench"


def test_setup_is_idempotent_rotates_and_keeps_tracebacks(monkeypatch, tmp_path):
    monkeypatch.setenv("WORKBENCH_LOG_DIR", str(tmp_path))
    root = logging.getLogger()
    before = list(root.handlers)
    old_level = root.level
    try:
        for h in [h for h in root.handlers if isinstance(h, logs._WorkbenchFileHandler)]:
            root.removeHandler(h)
        path = logs.setup_logging()
        assert path == tmp_path / logs.LOG_FILE_NAME
        assert logs.setup_logging() == path
        assert sum(isinstance(h, logs._WorkbenchFileHandler) for h in root.handlers) == 1
        handler = next(h for h in root.handlers if isinstance(h, logs._WorkbenchFileHandler))
        assert handler.maxBytes == logs.MAX_BYTES and handler.backupCount == logs.BACKUP_COUNT
        try:
            raise ValueError("bad value 42")
        except ValueError:
            logging.getLogger("tests.worker").exception("the worker failed")
        handler.flush()
        text = path.read_text(encoding="utf-8")
        assert "the worker failed" in text and "ValueError: bad value 42" in text
        details = logs.last_traceback()
        assert details.splitlines()[0].endswith("the worker failed")
        assert "Traceback (most recent call last):" in details
        assert details.splitlines()[-1] == "ValueError: bad value 42"
    finally:
        for h in list(root.handlers):
            if h not in before:
                root.removeHandler(h)
                h.close()
        root.setLevel(old_level)


def test_the_cli_writes_the_log_file(tmp_path):
    root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    env = {**os.environ, "WORKBENCH_LOG_DIR": str(tmp_path), "PYTHONPATH": root}
    proc = subprocess.run([sys.executable, "-m", "training", "runs", "--json"],
                          capture_output=True, text=True, env=env, timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert (tmp_path / logs.LOG_FILE_NAME).exists()
