"""RunFolder: the one owner of a run folder's layout. Fast (hand-written run.json files,
no TensorFlow); the train/evaluate tests check the folders train() really writes."""
import ast
from pathlib import Path

import pytest

from tests.training.runs.test_runs import write_run
from training.runs import runfolder
from training.runs.runfolder import RunError, RunFolder

ROOT = Path(__file__).resolve().parents[3]
# Every file name a run holds: the constants of training/runs/files.py (folder names such
# as "exports" are ordinary words, so only names with a file extension are checked).
NAMES = sorted(v for k, v in vars(runfolder).items()
               if k.isupper() and isinstance(v, str) and v.endswith((".json", ".npz", ".keras")))


def _string_literals(path: Path):
    """(line, text) of every string constant that is not a docstring."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    docstrings = set()
    for node in ast.walk(tree):
        if isinstance(node, (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef)):
            body = node.body
            if body and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant):
                docstrings.add(id(body[0].value))
    for node in ast.walk(tree):
        if isinstance(node, ast.Constant) and isinstance(node.value, str) and id(node) not in docstrings:
            yield node.lineno, node.value


def test_no_run_file_name_is_spelled_outside_the_run_folder_module():
    assert "run.json" in NAMES and "model_last.keras" in NAMES
    bad = []
    for package in ("training", "workbench", "bench"):
        for path in sorted((ROOT / package).rglob("*.py")):
            if path == ROOT / "training" / "runs" / "files.py":
                continue
            for line, text in _string_literals(path):
                if any(name in text for name in NAMES):
                    bad.append(f"{path.relative_to(ROOT)}:{line}: {text[:60]!r}")
    assert bad == [], "use training.runs.runfolder.RunFolder's paths instead:\n" + "\n".join(bad)


def test_paths_name_every_artifact(tmp_path):
    f = RunFolder(tmp_path)
    assert f.run_json == tmp_path / "run.json"
    assert f.model_last.name == "model_last.keras"
    for prop in ("exports_dir", "tensorboard_dir", "calibration_json", "label_overlay_json",
                 "stop_request", "evaluation_npz"):
        assert getattr(f, prop).parent == tmp_path
    assert len({getattr(f, p) for p in dir(RunFolder) if isinstance(getattr(RunFolder, p), property)}) \
        == len([p for p in dir(RunFolder) if isinstance(getattr(RunFolder, p), property)])


def test_load_history_classes_and_model_choice(tmp_path):
    d = write_run(tmp_path, "r1", checkpoint={"epoch": 2})
    f = RunFolder(d)
    assert f.is_run() and f.load()["name"] == "r1" and f.classes() == ["a", "b"]
    assert f.history() == []                       # missing history: no epochs
    f.history_json.write_text('[{"epoch": 1}, 3]', encoding="utf-8")
    assert f.history() == [{"epoch": 1}]
    with pytest.raises(RunError, match="no saved model"):
        f.model_file()
    f.model_final.write_bytes(b"")
    assert f.model_file("best") == f.model_final   # best falls back to final
    f.model_best.write_bytes(b"")
    assert f.model_file("best") == f.model_best and f.model_file("final") == f.model_final
    with pytest.raises(ValueError, match="which="):
        f.model_file("newest")


def test_can_resume_says_why_not(tmp_path):
    assert RunFolder(write_run(tmp_path, "done")).can_resume() == (
        False, f"The run {tmp_path / 'done'} is complete; there is nothing to resume.")
    stopped = RunFolder(write_run(tmp_path, "stopped", status="stopped", checkpoint={"epoch": 1}))
    ok, why = stopped.can_resume()
    assert not ok and "no checkpoint" in why
    stopped.model_last.write_bytes(b"")
    assert stopped.can_resume() == (True, "")
    ok, why = RunFolder(tmp_path / "missing").can_resume()
    assert not ok and "Not a run folder" in why


def test_update_info_keeps_the_other_fields(tmp_path):
    f = RunFolder(write_run(tmp_path, "r"))
    f.update_info(test_accuracy=0.5, evaluated_on="test")
    info = f.load()
    assert info["test_accuracy"] == 0.5 and info["evaluated_on"] == "test" and info["model"] == "cnn"


def test_open_dataset_reopens_the_recorded_one_and_warns_on_change(tmp_path):
    from tests.imagegen import make_class_folder
    from training.data import DatasetSpec, open_dataset

    data = make_class_folder(tmp_path / "data", classes=("a", "b"), per_class=6, size=8)
    index = open_dataset(DatasetSpec(path=str(data)))
    f = RunFolder(write_run(tmp_path, "r"))
    runfolder.write_json(f.dataset_json, {"spec": DatasetSpec(path=str(data)).to_dict(),
                                          "fingerprint": index.fingerprint()})
    again, warnings = f.open_dataset()
    assert again.fingerprint() == index.fingerprint() and warnings == []
    runfolder.write_json(f.dataset_json, {"spec": DatasetSpec(path=str(data)).to_dict(),
                                          "fingerprint": "something else"})
    assert "differs" in f.open_dataset(index)[1][0]


def test_edit_info_sets_and_removes_fields_and_refuses_a_non_run(tmp_path):
    f = RunFolder(write_run(tmp_path, "r1"))
    info = f.edit_info(display_name="baseline", notes="first try")
    assert f.read_info()["display_name"] == "baseline" == info["display_name"]
    f.edit_info(notes="")                       # an empty value removes the field
    assert "notes" not in f.read_info() and f.load()["display_name"] == "baseline"
    assert not list(f.path.glob("*.tmp"))      # written atomically
    with pytest.raises(RunError):
        RunFolder(tmp_path / "nothing").edit_info(notes="x")
    assert RunFolder(tmp_path / "nothing").read_dataset() is None
    with pytest.raises(RunError):
        RunFolder(tmp_path / "nothing").read_config()
