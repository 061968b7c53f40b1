import pytest


@pytest.fixture
def cache_env(tmp_path, monkeypatch):
    """A private decoded-image cache folder for one test."""
    d = tmp_path / "cache"
    monkeypatch.setenv("WORKBENCH_CACHE_DIR", str(d))
    monkeypatch.delenv("WORKBENCH_CACHE_MAX_MB", raising=False)
    return d
