"""``python -m training train`` with no model flags uses Auto and says why;
``--download-weights`` fetches from the (overridable) address and fails clearly offline."""
import json
import socket
import sys

from tests.training.trainutil import run_cli
from tests.imagegen import make_class_folder
from tests.weights_server import served, write_weights_like
from training.models.weights_download import weights_file


def test_train_defaults_to_auto_and_prints_its_reasons(capsys, tmp_path):
    data = make_class_folder(tmp_path / "data", per_class=6, size=12)
    code, out, err = run_cli(capsys, "train", data, "--epochs", "1", "--batch-size", "8",
                          "--out", tmp_path / "run", "--json")
    assert code == 0 and out["status"] == "complete"
    assert "Auto model: cnn at 12x12 rgb" in err and "BatchNormalization" in err
    spec = json.loads((tmp_path / "run" / "spec.json").read_text())
    assert spec["name"] == "auto_cnn" and spec["input_size"] == [12, 12]
    config = json.loads((tmp_path / "run" / "config.json").read_text())
    assert config["lr_schedule"] == "cosine"


def test_download_weights_offline_is_bad_input_with_the_reason(capsys, tmp_path, monkeypatch):
    monkeypatch.setenv("KERAS_HOME", str(tmp_path / "keras"))
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    monkeypatch.setenv("WORKBENCH_WEIGHTS_URL", f"http://127.0.0.1:{port}")
    data = make_class_folder(tmp_path / "data", per_class=4, size=32)
    code, out, err = run_cli(capsys, "train", data, "--model", "mobilenet_v2", "--download-weights",
                          "--epochs", "1", "--json")
    assert code == 2 and out["kind"] == "bad_input" and "offline" in out["error"]
    assert not list((tmp_path / "keras" / "models").glob("*.part"))


def test_download_weights_fetches_into_the_keras_cache(capsys, tmp_path, monkeypatch):
    from training.cli.model import ensure_weights
    from training.cli.progress import TerminalEvents
    from training.models import template

    monkeypatch.setenv("KERAS_HOME", str(tmp_path / "keras"))
    spec = template("mobilenet_v2")   # 96x96, alpha 1.0: no published hash, HDF5-checked
    served_dir = tmp_path / "srv"
    served_dir.mkdir()
    name = weights_file("mobilenet_v2", spec.input_size).file_name
    write_weights_like(served_dir / name)
    with served(served_dir) as base:
        monkeypatch.setenv("WORKBENCH_WEIGHTS_URL", base)
        ensure_weights(spec, TerminalEvents(sys.stderr, sys.stderr))
    assert (tmp_path / "keras" / "models" / name).is_file()
    err = capsys.readouterr().err
    assert "Saved" in err and "not checksum-verified" in err  # MobileNetV2: no published hash
