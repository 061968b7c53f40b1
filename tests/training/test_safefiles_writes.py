"""One atomic writer and one schema-version check (``training.safefiles``): every JSON writer
goes through the first, every loader of a versioned file through the second, so a file from
a newer version of the app gets the same message, naming the file, everywhere."""
import ast
import json
import math
import os
from pathlib import Path

import pytest

from training.safefiles import atomic_write, check_schema, write_json

ROOT = Path(__file__).resolve().parents[2]
NEWER = "made by a newer version of the app"


def _sources():
    for top in ("training", "workbench"):
        for path in sorted((ROOT / top).rglob("*.py")):
            yield path.relative_to(ROOT).as_posix(), ast.parse(path.read_text(encoding="utf-8"))


def _calls(tree, module: str, name: str):
    return [n for n in ast.walk(tree) if isinstance(n, ast.Call) and isinstance(n.func, ast.Attribute)
            and n.func.attr == name and isinstance(n.func.value, ast.Name) and n.func.value.id == module]


def test_no_module_but_safefiles_writes_a_json_file_or_reads_a_schema_version():
    own = "training/safefiles.py"
    dumps = [f"{path}:{c.lineno}" for path, tree in _sources() if path != own
             for c in _calls(tree, "json", "dump")]
    assert not dumps, "write JSON files with training.safefiles.write_json: " + ", ".join(dumps)
    checks = [f"{path}:{n.lineno}" for path, tree in _sources() if path != own
              for n in ast.walk(tree) if isinstance(n, ast.Call) and isinstance(n.func, ast.Attribute)
              and n.func.attr == "get" and n.args and isinstance(n.args[0], ast.Constant)
              and n.args[0].value == "schema_version"]
    assert not checks, "check versions with training.safefiles.check_schema: " + ", ".join(checks)


def test_write_json_replaces_the_file_whole_and_leaves_no_temporary_file(tmp_path):
    path = tmp_path / "run.json"
    write_json(path, {"a": 1, "name": "Zoë"})
    write_json(path, {"a": 2})
    assert json.loads(path.read_text(encoding="utf-8")) == {"a": 2}
    assert os.listdir(tmp_path) == ["run.json"]


def test_a_writer_failing_half_way_keeps_the_old_file_and_removes_its_temporary(tmp_path):
    from training.runs.runfolder import write_json as write_run_json

    path = tmp_path / "history.json"
    write_run_json(path, [{"loss": 1.0}])
    with pytest.raises(ValueError):   # NaN is not JSON: refused after part was written
        write_run_json(path, [{"loss": 0.5}, {"loss": math.nan}])
    assert json.loads(path.read_text(encoding="utf-8")) == [{"loss": 1.0}]
    assert os.listdir(tmp_path) == ["history.json"]
    with pytest.raises(RuntimeError):
        with atomic_write(tmp_path / "labels.csv", newline="") as f:
            f.write("path,label\n")
            raise RuntimeError("interrupted")
    assert os.listdir(tmp_path) == ["history.json"]


def test_check_schema_accepts_known_versions_and_names_the_file_of_a_newer_one(tmp_path):
    assert check_schema({"schema_version": 1}, "model spec", 2) == 1
    assert check_schema({}, "training config", 2, required=False) == 2
    with pytest.raises(ValueError, match="no valid schema_version"):
        check_schema({}, "model spec", 2)
    with pytest.raises(ValueError, match="no valid schema_version"):
        check_schema({"schema_version": True}, "model spec", 2)
    with pytest.raises(KeyError, match=f"spec.json \\(model spec\\) was {NEWER}.*schema_version 3"):
        check_schema({"schema_version": 3}, "model spec", 2, where=tmp_path / "spec.json",
                     error=KeyError)


def _newer(path: Path, data: dict) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps({**data, "schema_version": 99}), encoding="utf-8")
    return path


def _run_json(tmp_path):
    from training.runs.runfolder import RunFolder

    path = _newer(tmp_path / "run" / "run.json", {"status": "complete"})
    return path, lambda: RunFolder(path.parent).load()


def _model_spec(tmp_path):
    from training.models import ModelSpec, template

    path = _newer(tmp_path / "spec.json", template("cnn", input_size=(16, 16)).to_dict())
    return path, lambda: ModelSpec.load(path)


def _train_config(tmp_path):
    from training.recipe.config import TrainConfig

    path = _newer(tmp_path / "config.json", {})
    return path, lambda: TrainConfig.from_dict(json.loads(path.read_text()), path)


def _dataset_spec(tmp_path):
    from training.data import DatasetSpec

    path = _newer(tmp_path / "dataset.json", {"path": str(tmp_path)})
    return path, lambda: DatasetSpec.from_dict(json.loads(path.read_text()), path)


def _overlay(tmp_path):
    from training.data.overlay import OVERLAY_DIR, OVERLAY_FILE, load_overlay

    (tmp_path / "data").mkdir()
    path = _newer(tmp_path / "data" / OVERLAY_DIR / OVERLAY_FILE, {"labels": {}, "excluded": []})
    return path, lambda: load_overlay(str(tmp_path / "data"))


def _signature(tmp_path):
    from training.export.signature import SIGNATURE_JSON, load_signature

    (tmp_path / "export").mkdir()
    (tmp_path / "export" / "model.onnx").write_bytes(b"")
    path = _newer(tmp_path / "export" / SIGNATURE_JSON, {"classes": ["a", "b"]})
    return path, lambda: load_signature(tmp_path / "export" / "model.onnx")


def _unknown_rule(tmp_path):
    from training.trust.unknown import UnknownRule

    path = _newer(tmp_path / "unknown.json", {})
    return path, lambda: UnknownRule.from_dict(json.loads(path.read_text()), path)


def _move_journal(tmp_path):
    from training.data.folder_moves import undo_moves

    path = _newer(tmp_path / "moves" / "20240101-000000.json", {"moves": [], "root": str(tmp_path)})
    return path, lambda: undo_moves(str(path), str(tmp_path))


@pytest.mark.parametrize("make", [_run_json, _model_spec, _train_config, _dataset_spec, _overlay,
                                  _signature, _unknown_rule, _move_journal],
                         ids=lambda f: f.__name__.strip("_"))
def test_every_versioned_file_from_a_newer_app_is_refused_naming_the_file(tmp_path, make):
    path, load = make(tmp_path)
    with pytest.raises(ValueError) as info:
        load()
    assert NEWER in str(info.value) and str(path) in str(info.value)
    assert "schema_version 99" in str(info.value)


def test_a_newer_calibration_is_ignored_not_applied(tmp_path, caplog):
    from training.runs.runfolder import CALIBRATION_JSON
    from training.trust.rule import Trust

    _newer(tmp_path / CALIBRATION_JSON, {"temperature": 3.0})
    trust = Trust.load(tmp_path)
    assert trust.temperature == 1.0 and NEWER in caplog.text


def test_a_link_planted_beside_the_file_is_never_written_through(tmp_path):
    from training.runs.runfolder import write_json as write_run_json

    outside = tmp_path / "elsewhere.txt"
    outside.write_text("precious", encoding="utf-8")
    run = tmp_path / "run"
    run.mkdir()
    for planted in ("run.json.tmp", ".run.json.tmp", f"run.json.{os.getpid()}.tmp"):
        os.symlink(outside, run / planted)
    write_run_json(run / "run.json", {"status": "complete"})
    assert outside.read_text(encoding="utf-8") == "precious"
    assert json.loads((run / "run.json").read_text(encoding="utf-8")) == {"status": "complete"}
    assert (os.stat(run / "run.json").st_mode & 0o777) == 0o666 & ~_umask()


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask
