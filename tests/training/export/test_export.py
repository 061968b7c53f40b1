"""Export to SavedModel, ONNX and TFLite: the parity gate, independent loads, bad input.

One tiny CNN run is exported once (module fixture) to all three formats plus an int8
TFLite file; the other tests reuse it. Each conversion costs about a second.
"""
from __future__ import annotations

import json
import os
import shutil
import sys

import numpy as np
import pytest

from tests.imagegen import class_image, make_class_folder
from tests.training.trainutil import Recorder, tiny_spec
from training.cli import main as cli
from training.events import Stopped
from training.export.exporter import export
from training.runs.runfolder import UnsafeModelError


def _train(root, spec, epochs=1, per_class=12):
    from training.recipe.config import TrainConfig
    from training.data import DatasetSpec
    from training.fit.train import train

    data = make_class_folder(root / "data", per_class=per_class, size=spec.input_size[0])
    summary = train(DatasetSpec(str(data)), spec, TrainConfig(epochs=epochs, batch_size=8),
                    None, run_dir=str(root / "run"))
    return summary.run_dir, data


@pytest.fixture(scope="module")
def cnn_export(tmp_path_factory):
    from training.models import AugmentationSpec

    root = tmp_path_factory.mktemp("export_cnn")
    spec = tiny_spec("cnn", size=16)
    # Flip TTA on (training.models.tta): every format must carry the mirror's average.
    spec.augmentation = AugmentationSpec(flip="horizontal", rotation=0.1, zoom=0.1,
                                         test_time_flip=True)
    run_dir, data = _train(root, spec)
    result = export(run_dir, "saved_model,onnx,tflite", quantize="int8", events=Recorder())
    return run_dir, data, result


def _images(n=6, size=16, seed=3):
    rng = np.random.default_rng(seed)
    return np.stack([class_image(i % 3, size, rng) for i in range(n)]).astype(np.float32)


def test_cnn_export_writes_every_format_with_a_signature_and_passes_the_gate(cnn_export):
    from training.models.tta import has_flip_tta
    from training.runs.runfolder import RunFolder

    run_dir, _, result = cnn_export
    assert has_flip_tta(RunFolder(run_dir).load_model("final"))
    assert result["ok"] and result["out_dir"] == os.path.join(run_dir, "exports")
    by_key = {(a["format"], a["quantization"]): a for a in result["artifacts"]}
    assert set(by_key) == {("saved_model", None), ("onnx", None), ("tflite", None), ("tflite", "int8")}
    for (_fmt, quant), a in by_key.items():
        assert os.path.exists(a["path"]) and a["bytes"] > 1000
        assert a["ok"] and a["top1_agreement"] >= 0.99
        if quant is None:
            assert a["max_abs_diff"] <= 1e-4 and a["mean_abs_diff"] <= a["max_abs_diff"]
        else:
            assert "accuracy_change" in a
    assert "most-incorrect" in result["parity_source"]
    with open(result["signature"], encoding="utf-8") as f:
        sig = json.load(f)
    assert sig["classes"] == ["cat", "dog", "fox"]
    assert sig["input"] | {} == {"name": "image", "height": 16, "width": 16, "channels": 3,
                                 "colour_mode": "rgb", "value_range": [0, 255], "layout": "NHWC",
                                 "dtype": "float32", "shape": [None, 16, 16, 3]}
    assert sig["run_id"] == "run" and sig["spec_hash"].startswith("sha256:")
    assert sig["resize_policy"]["interpolation"] == "bilinear"
    assert set(sig["parity"]) == {"saved_model", "onnx", "tflite", "tflite_int8"}
    # The run's calibration and the confidence part of its unknown rule travel with it.
    with open(os.path.join(run_dir, "calibration.json"), encoding="utf-8") as f:
        assert sig["calibration"]["temperature"] == json.load(f)["temperature"]
    with open(os.path.join(run_dir, "unknown.json"), encoding="utf-8") as f:
        rule = json.load(f)
    assert sig["unknown"]["confidence_threshold"] == rule["confidence_threshold"]
    from training.export.predictor import open_predictor

    exported = open_predictor(next(a["path"] for a in result["artifacts"] if a["format"] == "onnx"))
    assert exported.trust.temperature == sig["calibration"]["temperature"]
    assert exported.trust.rule.confidence_threshold == rule["confidence_threshold"]
    with open(os.path.join(run_dir, "run.json"), encoding="utf-8") as f:
        assert sig["test_accuracy"] == json.load(f)["test_accuracy"]
    # Nothing temporary is left beside the destination.
    assert sorted(os.listdir(run_dir)).count("exports") == 1
    assert not [n for n in os.listdir(run_dir) if n.startswith(".exports")]


def test_independent_loads_reproduce_the_keras_probabilities(cnn_export):
    import onnxruntime as ort
    import tensorflow as tf
    from ai_edge_litert.interpreter import Interpreter

    from training.inference.predict import Predictor

    run_dir, _, result = cnn_export
    x = _images()
    keras_p = Predictor(run_dir, which="final").model(x, training=False).numpy()
    paths = {(a["format"], a["quantization"]): a["path"] for a in result["artifacts"]}

    loaded = tf.saved_model.load(paths["saved_model", None])  # kept: serve needs its variables
    sm = loaded.serve(tf.constant(x)).numpy()
    sess = ort.InferenceSession(paths["onnx", None], providers=["CPUExecutionProvider"])
    onnx_p = sess.run(None, {sess.get_inputs()[0].name: x})[0]
    it = Interpreter(model_path=paths["tflite", None])
    inp = it.get_input_details()[0]
    it.resize_tensor_input(inp["index"], list(x.shape))
    it.allocate_tensors()
    it.set_tensor(inp["index"], x)
    it.invoke()
    lite_p = it.get_tensor(it.get_output_details()[0]["index"])
    for out in (sm, onnx_p, lite_p):
        np.testing.assert_allclose(out, keras_p, atol=1e-5)


def test_an_augmented_model_exports_deterministically(tmp_path):
    """Stock Keras augmentation layers default to training=True: the endpoint must not."""
    import keras
    import onnxruntime as ort
    import tensorflow as tf

    from training.export.formats import write_onnx, write_saved_model

    inputs = keras.Input((16, 16, 3))
    x = keras.layers.RandomFlip("horizontal")(inputs)
    x = keras.layers.RandomRotation(0.3)(x)
    x = keras.layers.Conv2D(4, 3, activation="relu")(keras.layers.Rescaling(1 / 255)(x))
    outputs = keras.layers.Dense(3, activation="softmax")(keras.layers.Flatten()(x))
    model = keras.Model(inputs, outputs)
    batch = _images()
    assert np.abs(model(batch).numpy() - model(batch).numpy()).max() > 1e-4  # augmentation is live
    write_saved_model(model, tmp_path / "sm")
    write_onnx(model, tmp_path / "m.onnx")
    loaded = tf.saved_model.load(str(tmp_path / "sm"))
    serve = loaded.serve
    sess = ort.InferenceSession(str(tmp_path / "m.onnx"), providers=["CPUExecutionProvider"])
    expected = model(batch, training=False).numpy()
    for run in (lambda: serve(tf.constant(batch)).numpy(),
                lambda: sess.run(None, {sess.get_inputs()[0].name: batch})[0]):
        first, second = run(), run()
        np.testing.assert_array_equal(first, second)
        np.testing.assert_allclose(first, expected, atol=1e-5)


def test_tiny_mobilenet_v2_run_exports_to_every_format(transfer_run, tmp_path):
    # The transfer-learning test's run (a session fixture: a MobileNetV2 training of its
    # own cost this test ~37 CPU-s), read only. It was stopped while fine-tuning, so the
    # final model is exported; a stopped run has no unknown rule, so no feature files.
    result = export(transfer_run["run_dir"], ["saved_model", "onnx", "tflite"], tmp_path / "out")
    assert result["ok"] and len(result["artifacts"]) == 3
    assert all(a["ok"] and a["max_abs_diff"] <= 1e-4 for a in result["artifacts"])


def test_cli_export_json_lists_artifacts_and_refuses_an_existing_destination(cnn_export, tmp_path, capsys):
    run_dir, _, _ = cnn_export
    dest = tmp_path / "dest"
    assert cli.main(["export", run_dir, "--format", "saved_model", "--out", str(dest), "--json"]) == 0
    payload = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    (art,) = payload["artifacts"]
    assert set(art) >= {"format", "path", "bytes", "max_abs_diff", "mean_abs_diff",
                        "top1_agreement", "ok"} and art["ok"] and art["format"] == "saved_model"
    before = sorted(os.listdir(dest))
    assert cli.main(["export", run_dir, "--format", "onnx", "--out", str(dest), "--json"]) == 2
    captured = capsys.readouterr()
    assert "already exists" in captured.err and "--force" in captured.err
    assert sorted(os.listdir(dest)) == before  # untouched
    assert cli.main(["export", run_dir, "--format", "onnx", "--out", str(dest), "--force"]) == 0
    names = set(os.listdir(dest))  # the saved_model is gone; the unknown rule's files came along
    assert {"model.onnx", "signature.json"} <= names and "saved_model" not in names
    assert names <= {"model.onnx", "signature.json", "features.onnx", "unknown.json",
                     "unknown_reference.npz"}
    assert not [n for n in os.listdir(tmp_path) if n.startswith(".dest")]


def test_bad_input_gets_a_clear_message_and_exit_code_2(cnn_export, tmp_path, capsys, monkeypatch):
    run_dir, _, _ = cnn_export
    # A run stopped before its first epoch: no model file.
    empty = tmp_path / "stopped"
    shutil.copytree(run_dir, empty, ignore=shutil.ignore_patterns("*.keras", "exports"))
    assert cli.main(["export", str(empty), "--out", str(tmp_path / "a")]) == 2
    assert "no saved model" in capsys.readouterr().err
    assert cli.main(["export", run_dir, "--format", "pdf", "--out", str(tmp_path / "b")]) == 2
    assert "Unknown export format 'pdf'" in capsys.readouterr().err
    assert cli.main(["export", run_dir, "--format", "onnx", "--quantize", "int8",
                     "--out", str(tmp_path / "c")]) == 2
    assert "TFLite only" in capsys.readouterr().err
    # A missing optional package (hidden from the import system).
    monkeypatch.setitem(sys.modules, "tf2onnx", None)
    assert cli.main(["export", run_dir, "--format", "onnx", "--out", str(tmp_path / "d")]) == 2
    assert "pip install tf2onnx" in capsys.readouterr().err
    monkeypatch.delitem(sys.modules, "tf2onnx")
    # A read-only destination.
    ro = tmp_path / "ro"
    ro.mkdir()
    ro.chmod(0o500)
    try:
        if not os.access(ro, os.W_OK):  # root ignores permissions
            assert cli.main(["export", run_dir, "--format", "onnx", "--out", str(ro / "x")]) == 2
            assert "read-only" in capsys.readouterr().err
    finally:
        ro.chmod(0o700)
    assert not any((tmp_path / n).exists() for n in "abcd")


def test_an_unsafe_model_is_refused(tmp_path):
    import keras

    inputs = keras.Input((4, 4, 3))
    outputs = keras.layers.Dense(2)(keras.layers.Lambda(lambda t: t * 2)(keras.layers.Flatten()(inputs)))
    run = tmp_path / "run"
    run.mkdir()
    keras.Model(inputs, outputs).save(run / "model_final.keras")
    (run / "run.json").write_text(json.dumps({"schema_version": 1, "status": "complete", "model": "x",
                                              "started": 1.0, "epochs_done": 1}))
    with pytest.raises(UnsafeModelError, match="safe mode"):
        export(run, "onnx", tmp_path / "out")
    assert not (tmp_path / "out").exists()


def test_a_cancelled_export_leaves_nothing(cnn_export, tmp_path):
    run_dir, _, _ = cnn_export
    events = Recorder(stop_when=lambda kind, msg: kind == "status" and "Exporting onnx" in msg)
    with pytest.raises(Stopped):
        export(run_dir, "saved_model,onnx", tmp_path / "out", events=events)
    assert os.listdir(tmp_path) == []


_NO_TF_SCRIPT = """
import json, sys
sys.modules["tensorflow"] = None  # any TensorFlow import now fails loudly
sys.modules["keras"] = None
from training.export.predictor import open_predictor
out = {}
for path in sys.argv[2:]:
    p = open_predictor(path)
    out[path] = [r["probabilities"] for r in p.predict_paths([sys.argv[1]])]
loaded = sorted(m for m in sys.modules if m.split(".")[0] in ("tensorflow", "keras")
                and sys.modules[m] is not None)
print(json.dumps({"probs": out, "tf_modules": loaded}))
"""


def test_onnx_and_tflite_files_classify_photos_without_tensorflow(cnn_export):
    import subprocess

    from training.inference.predict import Predictor

    run_dir, data, result = cnn_export
    paths = {(a["format"], a["quantization"]): a["path"] for a in result["artifacts"]}
    files = [paths["onnx", None], paths["tflite", None]]
    root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))
    env = {**os.environ, "PYTHONPATH": root}
    proc = subprocess.run([sys.executable, "-c", _NO_TF_SCRIPT, str(data / "dog"), *files],
                          capture_output=True, text=True, env=env, timeout=120, check=False)
    assert proc.returncode == 0, proc.stderr[-3000:]
    report = json.loads(proc.stdout.strip().splitlines()[-1])
    assert report["tf_modules"] == []
    expected = [r["probabilities"] for r in Predictor(run_dir, which="final").predict_paths([data / "dog"])]
    for path in files:
        np.testing.assert_allclose(report["probs"][path], expected, atol=1e-5)


def test_predict_cli_accepts_an_exported_file_and_a_saved_model_folder(cnn_export, capsys):
    run_dir, data, result = cnn_export
    from training.inference.predict import Predictor

    paths = {(a["format"], a["quantization"]): a["path"] for a in result["artifacts"]}
    # The image the Keras model is surest of: int8 is held to 99 % top-1 agreement, so a
    # near-tie (a one-epoch model has some) may flip there without anything being wrong.
    rows = Predictor(run_dir).predict_paths([str(data / "fox")], top_k=2)
    image = max(rows, key=lambda r: r["top_k"][0][1] - r["top_k"][1][1])["path"]
    tops = []
    for key in (("onnx", None), ("saved_model", None), ("tflite", "int8")):
        assert cli.main(["predict", paths[key], image, "--json"]) == 0
        (row,) = json.loads(capsys.readouterr().out.strip().splitlines()[-1])["predictions"]
        tops.append(row["top_k"][0][0])
    assert len(set(tops)) == 1
    # Without its signature an exported file is refused with the reason.
    lonely = os.path.join(os.path.dirname(run_dir), "lonely.onnx")
    shutil.copyfile(paths["onnx", None], lonely)
    assert cli.main(["predict", lonely, image]) == 2
    assert "signature.json" in capsys.readouterr().err


def test_parity_figures_and_rules():
    from training.export.parity import choose, figures

    ref = np.array([[0.7, 0.2, 0.1], [0.1, 0.6, 0.3], [0.3, 0.3, 0.4]])
    same = figures(ref, ref + 1e-6, labels=[0, 1, 0])
    assert same["ok"] and same["top1_agreement"] == 1.0 and same["max_abs_diff"] < 2e-6
    assert same["accuracy_keras"] == same["accuracy_export"] == 2 / 3
    flipped = ref.copy()
    flipped[2] = [0.4, 0.3, 0.3]
    q = figures(ref, flipped, labels=[0, 1, 0], quantized=True)
    assert not q["ok"] and abs(q["top1_agreement"] - 2 / 3) < 1e-9 and q["accuracy_change"] > 0
    assert "top-1 agreement" in q["reason"]
    assert not figures(ref, ref[:, :2])["ok"]  # a wrong output shape always fails
    # Most-incorrect rows come first, then evenly spread others, never twice.
    pos = choose(np.array([10, 11, 12, 13, 14, 15]), [14, 99, 11], n=4)
    assert list(pos[:2]) == [4, 1] and len(set(pos)) == 4


def test_a_failed_gate_writes_nothing_and_exits_1(cnn_export, tmp_path, capsys, monkeypatch):
    from training.export import parity as export_parity

    run_dir, _, _ = cnn_export
    monkeypatch.setattr(export_parity, "FLOAT_MAX_DIFF", -1.0)  # no file can pass now
    assert cli.main(["export", run_dir, "--format", "onnx", "--out", str(tmp_path / "o"), "--json"]) == 1
    captured = capsys.readouterr()
    payload = json.loads(captured.out.strip().splitlines()[-1])
    assert payload["ok"] is False and payload["artifacts"][0]["ok"] is False
    assert "parity gate" in captured.err
    assert os.listdir(tmp_path) == []
