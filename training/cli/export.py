"""``python -m training export RUN_DIR --format ...``: the export command of the CLI.

Exit codes as for every command: 0 written and every file passed the parity gate,
2 bad input (no model, refused destination, missing package, unsafe model), 1 an
internal error, a failed parity gate or a cancel (nothing is written then).
"""
from __future__ import annotations

import sys

from training.runs.runfolder import MODEL_CHOICES


def add_parser(sub) -> None:
    p = sub.add_parser("export", help="export a run's model to SavedModel, ONNX and TFLite, "
                                      "checked against the Keras model")
    p.add_argument("run_dir", metavar="RUN_DIR")
    p.add_argument("--format", default="saved_model,onnx,tflite",
                   help="comma-separated: saved_model, onnx, tflite (default: all three)")
    p.add_argument("--quantize", choices=("float16", "int8"),
                   help="also write a quantized TFLite variant (int8 is calibrated on "
                        "training images)")
    p.add_argument("--out", metavar="DIR", help="destination folder (default: RUN_DIR/exports)")
    p.add_argument("--force", action="store_true", help="replace an existing destination")
    p.add_argument("--which", choices=MODEL_CHOICES, default=MODEL_CHOICES[0])


def parity_lines(artifacts: list[dict]) -> list[str]:
    """The parity table as text (also used in the GUI's log)."""
    lines = [f"  {'format':<18} {'size':>10} {'max |dp|':>10} {'mean |dp|':>10} {'top-1':>7}  ok"]
    for a in artifacts:
        name = a["format"] + (f" ({a['quantization']})" if a.get("quantization") else "")
        mx, mean, agree = a.get("max_abs_diff"), a.get("mean_abs_diff"), a.get("top1_agreement")
        lines.append(f"  {name:<18} {a['bytes'] / 1e6:>8.2f}MB "
                     f"{'-' if mx is None else f'{mx:.2e}':>10} "
                     f"{'-' if mean is None else f'{mean:.2e}':>10} "
                     f"{'-' if agree is None else f'{agree:.1%}':>7}  {'yes' if a['ok'] else 'NO'}")
        if a.get("accuracy_change") is not None and a.get("quantization"):
            lines.append(f"  {'':<18} accuracy change on the parity images: "
                         f"{a['accuracy_change'] * 100:+.2f} points")
    return lines


def _payload(result: dict) -> dict:
    keys = ("format", "quantization", "path", "bytes", "max_abs_diff", "mean_abs_diff",
            "top1_agreement", "accuracy_change", "seconds", "ok")
    return {"run_dir": result["run_dir"], "out_dir": result["out_dir"], "ok": result["ok"],
            "signature": result["signature"], "parity_source": result["parity_source"],
            "artifacts": [{k: a.get(k) for k in keys} for a in result["artifacts"]]}


def cmd_export(args, events, out):
    from training.events import Stopped
    from training.export.exporter import ParityError, export

    try:
        result = export(args.run_dir, args.format, args.out, events=events,
                        quantize=args.quantize, force=args.force, which=args.which)
    except ParityError as exc:
        events.finish_line()
        print(f"error: {exc}", file=sys.stderr)
        for line in parity_lines(exc.result["artifacts"]):
            print(line, file=out)
        return 1, {**_payload(exc.result), "error": str(exc)}
    except Stopped:
        events.finish_line()
        print("Export cancelled; nothing was written.", file=sys.stderr)
        return 1, {"error": "cancelled", "kind": "cancelled"}
    events.finish_line()
    print(f"Exported to {result['out_dir']} (parity on {result['parity_source']}):", file=out)
    for line in parity_lines(result["artifacts"]):
        print(line, file=out)
    return 0, _payload(result)
