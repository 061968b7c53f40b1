"""How often the "unknown" answer fires: on real photos (should: >= 80 %) and on the
model's own test images (should not: <= 5 %), with calibration before/after.

Trains a run on a dataset (the bundled Fashion-MNIST sample by default; ``--digits`` for
scikit-learn's digits written out as images; any folder or IDX path with ``--data``),
then classifies scikit-image's bundled photos with it. Side by side, the max-softmax
baseline (Hendrycks & Gimpel): the same confidence threshold alone, no distance checks,
which is all a plain Keras model offers.

    python bench/unknown_rates.py [--data resources/sample] [--model cnn] [--epochs 8]
"""
from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from bench.common import SAMPLE_DIR, machine_line, peak_rss_mb, table
from bench.trustdata import write_digits, write_photos


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--data", default=SAMPLE_DIR)
    p.add_argument("--digits", action="store_true", help="train on scikit-learn's digits")
    p.add_argument("--model", default="cnn", choices=("mlp", "cnn"))
    p.add_argument("--epochs", type=int, default=8)
    args = p.parse_args(argv)

    from training.recipe.config import TrainConfig
    from training.data import DatasetSpec, open_dataset, suggest_input
    from training.models import template
    from training.inference.predict import Predictor
    from training.fit.train import train

    tmp = tempfile.mkdtemp(prefix="wb-unknown-bench-")
    data = str(write_digits(os.path.join(tmp, "digits"))) if args.digits else args.data
    photos = [str(x) for x in write_photos(os.path.join(tmp, "photos"))]
    t0 = time.perf_counter()
    index = open_dataset(DatasetSpec(data))
    size, color = suggest_input(index)  # as the CLI and the GUI do (28x28 grayscale here)
    summary = train(index, template(args.model, input_size=size, color_mode=color),
                    TrainConfig(epochs=args.epochs), run_dir=os.path.join(tmp, "run"))
    train_s = time.perf_counter() - t0
    from training.runs.runfolder import RunFolder

    ev = RunFolder(summary.run_dir).read_evaluation()
    predictor = Predictor(summary.run_dir)
    threshold = predictor.trust.rule.confidence_threshold
    ph = predictor.predict_paths(photos)
    test = [p for p in ev["predictions"]]
    rows = []

    def rate(flags):
        return f"{100 * sum(flags) / max(1, len(flags)):.1f} %"

    rows.append(["photos (skimage.data)", len(ph), rate([r["unknown"] for r in ph]),
                 rate([r["confidence"] < threshold for r in ph])])
    rows.append([f"own {ev['split']} split", len(test), rate([bool(p.get("unknown_reason")) for p in test]),
                 rate([p["confidence"] < threshold for p in test])])
    cal = ev["calibration"]
    print(machine_line())
    print(f"\nData: {data} · model {args.model}, {args.epochs} epochs ({train_s:.0f} s) · "
          f"{ev['split']} accuracy {ev['accuracy']:.3f} · balanced {ev['balanced_accuracy']:.3f}\n")
    print(table(["images", "n", "unknown (this app)", "max-softmax alone (same threshold)"], rows))
    print(f"\nTemperature {cal['temperature']:.3f} (fitted on validation); {ev['split']} ECE "
          f"{cal['ece_before']:.4f} -> {cal['ece_after']:.4f}, NLL {cal['nll_before']:.4f} -> "
          f"{cal['nll_after']:.4f}")
    reasons = {}
    for r in ph:
        reasons[r["unknown_reason"] or "answered"] = reasons.get(r["unknown_reason"] or "answered", 0) + 1
    print(f"Photo reasons: {reasons}; peak RSS {peak_rss_mb():.0f} MB")
    return 0


if __name__ == "__main__":
    sys.exit(main())
