"""Does temperature scaling lower the test ECE? Before/after on the validation and test
splits, for the bundled sample (several seeds) and Fashion-MNIST.

Each run is trained as the app trains it (``training.train``, which fits the temperature
on the validation split in ``training.trust.fit_trust``). The bench then runs the saved
model over the validation and test splits once more and reports, side by side:

- "before": the model's own probabilities (T = 1: what a plain Keras model gives);
- "naive fit": the NLL-optimal T on the validation split, always applied (the method
  of this app before the held-out check);
- "app": the temperature the run stored (the NLL fit on the logits, kept only when T
  fitted on part of the validation split also lowers the NLL on the rest).

    python bench/calibration_ece.py sample --seeds 1 2 3 4 5
    python bench/calibration_ece.py fashion --data /usr/share/datasets/fashion-mnist
"""
from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

import numpy as np

from bench.common import SAMPLE_DIR, load_line, machine_line, peak_rss_mb, table

FASHION = "/usr/share/datasets/fashion-mnist"


def _pct(v) -> str:
    return "-" if v is None else f"{100 * v:.2f} %"


def measure(run_dir: str, dataset) -> dict:
    """ECE/NLL before and after on validation and test, for the naive and the app's T."""
    from training.calibration import search_log_temperature, apply_temperature, ece, nll
    from training.data import open_images
    from training.data.index import TEST, VALIDATION
    from training.embeddings import Embedder
    from training.predict import Predictor
    from training.runfolder import RunFolder

    predictor = Predictor(run_dir)
    emb = Embedder(predictor.model)
    out = {"stored": RunFolder(run_dir).read_evaluation().get("calibration", {}).get("validation") or {}}
    with open_images(dataset, predictor.input_size, predictor.color_mode) as data:
        splits = {name: emb.embed_split(data, split) for name, split in
                  (("val", VALIDATION), ("test", TEST))}
    val = splits["val"]
    z = emb.logits(val.features, val.probabilities)
    z = z if z is not None else np.log(np.clip(val.probabilities.astype(np.float64), 1e-30, 1))
    t_naive = float(np.exp(search_log_temperature(z, val.labels)))
    t_app = predictor.trust.temperature
    out.update(t_naive=t_naive, t_app=t_app, accepted=out["stored"].get("accepted"))
    for name, e in splits.items():
        p, y = e.probabilities, e.labels
        out[name] = {"n": len(y), "accuracy": float((p.argmax(1) == y).mean()),
                     "ece_before": ece(p, y), "ece_naive": ece(apply_temperature(p, t_naive), y),
                     "ece_app": ece(apply_temperature(p, t_app), y), "nll_before": nll(p, y),
                     "nll_naive": nll(apply_temperature(p, t_naive), y),
                     "nll_app": nll(apply_temperature(p, t_app), y)}
    return out


def train_run(data_path: str, root: str, name: str, model: str, epochs: int, seed: int,
              early_stopping: bool = True):
    from training.config import TrainConfig
    from training.data import DatasetSpec, open_dataset, suggest_input
    from training.models import template
    from training.train import train

    index = open_dataset(DatasetSpec(data_path, seed=seed))
    if model == "auto":  # the app's default (Model panel and CLI)
        from training.automodel import auto_choice

        spec = auto_choice(index).spec
    else:
        size, color = suggest_input(index)
        spec = template(model, input_size=size, color_mode=color)
    t0 = time.perf_counter()
    summary = train(index, spec, TrainConfig(epochs=epochs, seed=seed, early_stopping=early_stopping),
                    run_dir=os.path.join(root, name))
    return summary.run_dir, index, time.perf_counter() - t0


def _rows(label: str, m: dict) -> list[list]:
    v, t = m["val"], m["test"]
    return [[label, f"{t['accuracy']:.3f}", f"{m['t_naive']:.3f}",
             f"{m['t_app']:.3f}" + ("" if m["accepted"] else " (kept 1)"),
             f"{_pct(v['ece_before'])} → {_pct(v['ece_app'])}",
             f"{_pct(t['ece_before'])} → {_pct(t['ece_naive'])}",
             f"**{_pct(t['ece_before'])} → {_pct(t['ece_app'])}**",
             f"{t['nll_before']:.3f} → {t['nll_app']:.3f}", f"{v['n']}/{t['n']}"]]


HEADERS = ["run", "test acc.", "T naive fit", "T app", "val ECE before → app",
           "test ECE before → naive", "test ECE before → app", "test NLL before → app", "val/test n"]


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("which", choices=("sample", "fashion"))
    p.add_argument("--data", default=None, help="dataset (default: the bundled sample / "
                                                f"{FASHION})")
    p.add_argument("--seeds", type=int, nargs="+", default=[1, 2, 3, 4, 5])
    p.add_argument("--epochs", type=int, default=30, help="sample: the app's default 30 "
                                                          "(early stopping on)")
    p.add_argument("--mlp-epochs", type=int, default=25,
                   help="fashion: an MLP trained this long without early stopping (overconfident)")
    p.add_argument("--default-epochs", type=int, default=4,
                   help="fashion: the default (Auto) model, early stopping on")
    args = p.parse_args(argv)
    root = tempfile.mkdtemp(prefix="wb-ece-bench-")
    rows, results = [], []
    t0 = time.perf_counter()
    if args.which == "sample":
        data = args.data or SAMPLE_DIR
        for seed in args.seeds:
            run, index, secs = train_run(data, root, f"s{seed}", "auto", args.epochs, seed)
            m = measure(run, index)
            results.append(m)
            rows += _rows(f"sample, Auto, seed {seed} ({secs:.0f} s)", m)
        mean = {k: float(np.mean([r["test"][k] for r in results]))
                for k in ("ece_before", "ece_naive", "ece_app", "nll_before", "nll_app")}
        lowered = sum(r["test"]["ece_app"] < r["test"]["ece_before"] for r in results)
        summary = (f"Mean over {len(results)} seeds: test ECE {_pct(mean['ece_before'])} → "
                   f"{_pct(mean['ece_app'])} (naive fit: {_pct(mean['ece_naive'])}); test NLL "
                   f"{mean['nll_before']:.3f} → {mean['nll_app']:.3f}; the app's T lowered the "
                   f"test ECE in {lowered}/{len(results)} runs")
    else:
        data = args.data or FASHION
        runs = [("Fashion-MNIST, MLP {e} epochs, no early stopping", "mlp", args.mlp_epochs, False),
                ("Fashion-MNIST, Auto (default) {e} epochs", "auto", args.default_epochs, True)]
        for i, (label, model, epochs, stop) in enumerate(runs):
            if epochs <= 0:
                continue
            run, index, secs = train_run(data, root, f"f{i}", model, epochs, 42, stop)
            m = measure(run, index)
            results.append(m)
            rows += _rows(label.format(e=epochs) + f" ({secs:.0f} s)", m)
        summary = ""
    print(machine_line())
    print(load_line())
    print()
    print(table(HEADERS, rows))
    if summary:
        print("\n" + summary)
    print(f"\nTotal {time.perf_counter() - t0:.0f} s; peak RSS {peak_rss_mb():.0f} MB")
    return 0


if __name__ == "__main__":
    sys.exit(main())
