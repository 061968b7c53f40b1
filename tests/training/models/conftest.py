"""Fixtures for the model tests."""
import pytest


@pytest.fixture
def keras_home(tmp_path, monkeypatch):
    """An empty Keras cache folder for this test (resolved at call time by the code)."""
    home = tmp_path / "keras_home"
    (home / "models").mkdir(parents=True)
    monkeypatch.setenv("KERAS_HOME", str(home))
    return home
