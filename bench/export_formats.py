"""Export time, file size and per-image latency of each export format vs the Keras model.

    python bench/export_formats.py [--repeats 50] [--cnn-run DIR] [--mobilenet-run DIR]

Trains (1 epoch, on the bundled sample) a CNN run (28x28 grayscale) and a MobileNetV2 run
(96x96 RGB, random weights), unless run folders are given, then exports each with
``training.export.exporter.export`` to SavedModel, ONNX, TFLite and int8 TFLite (the parity gate
included in the export time). Per-image latency is p50/p90 over ``--repeats`` calls on
one image after 5 warm-up calls, measured side by side in this process: the Keras model
through the app's traced call (``Predictor._run``), ``tf.saved_model.load(...).serve``,
an onnxruntime session and an ai-edge-litert interpreter. Ratios are against Keras.
"""
from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import common  # after the sys.path line: bench/ is not a package
from predict_latency import time_calls, train_run


def bench_run(name: str, run_dir: str, repeats: int) -> list[list]:
    from training.export.exporter import ParityError, export
    from training.export.predictor import open_runner
    from training.inference.predict import Predictor

    tmp = tempfile.mkdtemp(prefix="bench-export-")
    artifacts, total = [], 0.0
    # Float formats, then the int8 variant on its own: a quantized file that fails the gate
    # must not keep the float files from being written and timed.
    for i, (formats, quant) in enumerate((("saved_model,onnx,tflite", None), ("tflite", "int8"))):
        t = time.perf_counter()
        try:
            result = export(run_dir, formats, os.path.join(tmp, f"exports{i}"), quantize=quant)
        except ParityError as exc:  # reported in the table; its files are not kept
            print(f"{name}: {exc}")
            result = exc.result
        total += time.perf_counter() - t
        artifacts += [a for a in result["artifacts"] if a["quantization"] == quant]
    result = {"artifacts": artifacts}
    keras_pred = Predictor(run_dir, which="final")
    h, w = keras_pred.input_size
    c = 1 if keras_pred.color_mode == "grayscale" else 3
    x = np.random.default_rng(0).integers(0, 256, (1, h, w, c)).astype(np.float32)
    keras_ms = common.percentiles(time_calls(lambda: keras_pred._run(x), repeats), (50, 90))
    size_keras = os.path.getsize(keras_pred.model_path)
    rows = [[name, "keras (.keras)", "-", f"{size_keras / 1e6:.2f}", common.fmt(keras_ms[0]),
             common.fmt(keras_ms[1]), "1.00", "-", "-"]]
    for a in result["artifacts"]:
        if not os.path.exists(a["path"]):  # a failed gate: nothing was written to time
            ms = [float("nan")] * 2
        else:
            runner = open_runner(a["path"], a["format"])
            ms = common.percentiles(time_calls(lambda r=runner: r(x), repeats), (50, 90))
        label = a["format"] + (f" ({a['quantization']})" if a["quantization"] else "")
        rows.append([name, label, common.fmt(a["seconds"]), f"{a['bytes'] / 1e6:.2f}",
                     common.fmt(ms[0]), common.fmt(ms[1]), common.fmt(keras_ms[0] / ms[0]) if ms[0] == ms[0] else "-",
                     f"{a['max_abs_diff']:.1e}",
                     f"{a['top1_agreement']:.1%}" + ("" if a["ok"] else " (FAILED gate)")])
    rows.append([name, "whole export incl. parity", common.fmt(total), "-", "-", "-", "-", "-", "-"])
    return rows


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--repeats", type=int, default=50)
    p.add_argument("--cnn-run")
    p.add_argument("--mobilenet-run")
    args = p.parse_args(argv)
    print(common.machine_line())
    tmp = tempfile.mkdtemp(prefix="bench-export-runs-")
    runs = [("cnn", args.cnn_run or train_run("cnn", os.path.join(tmp, "cnn"))),
            ("mobilenet_v2", args.mobilenet_run or train_run("mobilenet_v2", os.path.join(tmp, "mnv2")))]
    rows = []
    for name, run_dir in runs:
        rows += bench_run(name, run_dir, args.repeats)
    print(common.table(["run", "format", "export s", "size MB", "p50 ms", "p90 ms",
                        "speed vs Keras", "max abs dp", "top-1 agree"], rows))
    print(f"peak RSS {common.peak_rss_mb():.0f} MB")
    return 0


if __name__ == "__main__":
    sys.exit(main())
