"""Malformed, truncated and future-version run.json / spec.json / config.json through the
CLI: exit code 2 and a one-line message naming the file and what was wrong, never a
traceback. (The loaders themselves are tested in test_runs.py, test_config.py and
models/test_spec.py; the GUI side in workbench/test_damaged_files_gui.py.)
"""
import json
import shutil

import pytest

from tests.training.trainutil import run_cli
from training.models import template

TRUNCATED = '{"schema_version": 1, "status": "sto'
NOT_AN_OBJECT = "[1, 2, 3]"


def future(name):
    return json.dumps({"schema_version": 99, "status": "stopped"} if name == "run.json"
                      else {"schema_version": 99})


@pytest.fixture
def stopped_run(mlp_run, tmp_path):
    """A copy of the shared complete run, marked stopped so that it can be resumed."""
    summary, _, _ = mlp_run
    run_dir = tmp_path / "run"
    shutil.copytree(summary.run_dir, run_dir)
    info = json.loads((run_dir / "run.json").read_text(encoding="utf-8"))
    info["status"] = "stopped"
    (run_dir / "run.json").write_text(json.dumps(info), encoding="utf-8")
    return run_dir


@pytest.mark.parametrize("name, content, words", [
    ("run.json", TRUNCATED, "truncated"),
    ("run.json", NOT_AN_OBJECT, "JSON object"),
    ("run.json", None, "newer version"),
    ("spec.json", TRUNCATED, "truncated"),
    ("spec.json", NOT_AN_OBJECT, "JSON object"),
    ("spec.json", None, "newer version"),
    ("config.json", TRUNCATED, "truncated"),
    ("config.json", NOT_AN_OBJECT, "JSON object"),
    ("config.json", None, "newer version"),
])
def test_damaged_run_files_exit_2_with_a_clear_message(capsys, stopped_run, name, content, words):
    (stopped_run / name).write_text(future(name) if content is None else content, encoding="utf-8")
    commands = [("train", "--resume", stopped_run)]
    if name == "run.json":
        commands.append(("evaluate", stopped_run))
    for argv in commands:
        code, out, err = run_cli(capsys, *argv, "--json")
        assert code == 2, (argv, err[-2000:])
        assert "Traceback" not in err, err[-3000:]
        assert name in out["error"] and words in out["error"], out["error"]
        assert out["kind"] == "bad_input"
        assert "error: " in err and name in err


@pytest.mark.parametrize("content, words", [
    (lambda text: text[: len(text) // 2], "truncated"),
    (lambda text: NOT_AN_OBJECT, "JSON object"),
    (lambda text: text.replace('"schema_version": 1', '"schema_version": 99'), "newer version"),
])
def test_damaged_spec_file_for_train_exits_2(capsys, tmp_path, class_folder, content, words):
    path = tmp_path / "my_spec.json"
    text = template("mlp", input_size=(16, 16)).to_json()
    assert '"schema_version": 1' in text
    path.write_text(content(text), encoding="utf-8")
    code, out, err = run_cli(capsys, "train", class_folder, "--spec", path, "--json")
    assert code == 2 and "Traceback" not in err, err[-3000:]
    assert words in out["error"] and "my_spec.json" in out["error"], out["error"]
