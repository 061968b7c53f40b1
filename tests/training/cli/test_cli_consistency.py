"""CLI consistency (issue 11.10): --epochs 0 refused, --json always ends with one JSON
object (argparse errors too), messages never name internal classes."""
import json

import pytest

from tests.imagegen import make_class_folder
from training.cli.main import main
from training.recipe.config import TrainConfig
from training.data import DatasetError, DatasetSpec


def _last_json(capsys):
    captured = capsys.readouterr()
    lines = captured.out.strip().splitlines()
    assert lines, captured.err
    value = json.loads(lines[-1])
    assert isinstance(value, dict)
    return value, captured.err


def test_zero_epochs_is_refused_and_leaves_no_run(capsys, tmp_path):
    data = make_class_folder(tmp_path / "data", per_class=3, size=8)
    out = tmp_path / "run"
    code = main(["train", str(data), "--epochs", "0", "--out", str(out), "--json"])
    value, err = _last_json(capsys)
    assert code == 2 and "--epochs" in value["error"] and "0" in value["error"]
    assert not out.exists()


@pytest.mark.parametrize("argv", [
    ["train", "--model", "vgg", "--json"],
    ["frobnicate", "--json"],
    ["--json"],
    ["predict", "--json"],
    ["train", "x", "--epochs", "many", "--json"],
])
def test_argparse_errors_are_json_with_exit_2(capsys, argv):
    code = main(argv)
    value, err = _last_json(capsys)
    assert code == 2 and value["error"] and value["kind"] == "bad_input"


def test_help_still_exits_0(capsys):
    assert main(["--help"]) == 0


def test_messages_never_name_internal_classes(capsys, tmp_path):
    with pytest.raises(DatasetError) as info:
        DatasetSpec(str(tmp_path), val_fraction=0.6, test_fraction=0.6)
    assert "DatasetSpec" not in str(info.value) and "0.6" in str(info.value)
    with pytest.raises(ValueError) as info:
        TrainConfig(batch_size=0)
    assert "TrainConfig" not in str(info.value) and "batch_size" in str(info.value)
    data = make_class_folder(tmp_path / "data", per_class=3, size=8)
    code = main(["train", str(data), "--val-fraction", "1.5", "--json"])
    value, err = _last_json(capsys)
    assert code == 2 and "Spec" not in value["error"] and "Spec" not in err
    code = main(["train", str(data), "--batch-size", "0", "--json"])
    value, err = _last_json(capsys)
    assert code == 2 and "Config" not in value["error"] and "batch" in value["error"]
