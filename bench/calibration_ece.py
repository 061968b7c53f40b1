"""Does temperature scaling lower the test ECE? Before/after on the validation and test
splits, for the bundled sample (several seeds) and Fashion-MNIST.

Each run is trained as the app trains it (``training.fit.train``, which fits the temperature
on the validation split in ``training.trust.fitting.fit_trust``). The bench then runs the saved
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

from bench.common import SAMPLE_DIR, machine_line, peak_rss_mb, table

FASHION = "/usr/share/datasets/fashion-mnist"


def _pct(v) -> str:
    return "-" if v is None else f"{100 * v:.2f} %"


def measure(run_dir: str, dataset) -> dict:
    """ECE/NLL before and after on validation and test, for the naive and the app's T."""
    from training.trust.calibration import search_log_temperature, apply_temperature, ece, nll
    from training.data import open_images
    from training.data.index import TEST, VALIDATION
    from training.features.embeddings import Embedder
    from training.inference.predict import Predictor
    from training.runs.runfolder import RunFolder

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
        out[name + "_probs"] = {"before": p, "naive": apply_temperature(p, t_naive),
                                "app": apply_temperature(p, t_app), "labels": y}
        out[name] = {"n": len(y), "accuracy": float((p.argmax(1) == y).mean()),
                     "floor": noise_floor(apply_temperature(p, t_app)),
                     "ece_before": ece(p, y), "ece_naive": ece(apply_temperature(p, t_naive), y),
                     "ece_app": ece(apply_temperature(p, t_app), y), "nll_before": nll(p, y),
                     "nll_naive": nll(apply_temperature(p, t_naive), y),
                     "nll_app": nll(apply_temperature(p, t_app), y)}
    return out


def noise_floor(probs, draws: int = 50, seed: int = 0) -> float:
    """The ECE a perfectly calibrated model would still show on this many images: labels
    drawn from the probabilities themselves, averaged over ``draws``. Measured ECEs near
    it cannot tell calibrated from miscalibrated."""
    from training.trust.calibration import ece

    p = np.asarray(probs, dtype=np.float64)
    p = p / p.sum(axis=1, keepdims=True)
    rng = np.random.default_rng(seed)
    cum = p.cumsum(axis=1)
    values = []
    for _ in range(draws):
        u = rng.random((len(p), 1))
        y = np.minimum((u > cum).sum(axis=1), p.shape[1] - 1)
        values.append(ece(p, y))
    return float(np.mean(values))


def pooled(results: list[dict]) -> dict:
    """Test ECE/NLL over the runs' test images together (less noise than any one run)."""
    from training.trust.calibration import ece, nll

    y = np.concatenate([r["test_probs"]["labels"] for r in results])
    out = {"n": len(y)}
    for k in ("before", "naive", "app"):
        p = np.concatenate([r["test_probs"][k] for r in results])
        out[k] = (ece(p, y), nll(p, y))
    out["floor"] = noise_floor(np.concatenate([r["test_probs"]["app"] for r in results]))
    return out


def train_run(data_path: str, root: str, name: str, model: str, epochs: int, seed: int,
              early_stopping: bool = True):
    """Train one run. ``early_stopping=False`` trains to overconfidence: every epoch, the
    final weights kept (no best checkpoint, no restore) at a constant learning rate."""
    from training.recipe.config import TrainConfig
    from training.data import DatasetSpec, open_dataset, suggest_input
    from training.models import template
    from training.fit.train import train

    index = open_dataset(DatasetSpec(data_path, seed=seed))
    if model == "auto":  # the app's default (Model panel and CLI)
        from training.recipe.auto import auto_choice

        choice = auto_choice(index)
        spec, epochs = choice.spec, epochs or choice.epochs
    else:
        size, color = suggest_input(index)
        spec = template(model, input_size=size, color_mode=color)
    t0 = time.perf_counter()
    config = (TrainConfig(epochs=epochs, seed=seed) if early_stopping else
              TrainConfig(epochs=epochs, seed=seed, early_stopping=False, restore_best=False,
                          checkpoint_best=False, lr_schedule="none"))
    summary = train(index, spec, config, run_dir=os.path.join(root, name))
    return summary.run_dir, index, time.perf_counter() - t0


def _rows(label: str, m: dict) -> list[list]:
    v, t = m["val"], m["test"]
    return [[label, f"{t['accuracy']:.3f}", f"{m['t_naive']:.3f}",
             f"{m['t_app']:.3f}" + ("" if m["accepted"] else " (kept 1)"),
             f"{_pct(v['ece_before'])} → {_pct(v['ece_app'])}",
             f"{_pct(t['ece_before'])} → {_pct(t['ece_naive'])}",
             f"**{_pct(t['ece_before'])} → {_pct(t['ece_app'])}**", _pct(t["floor"]),
             f"{t['nll_before']:.3f} → {t['nll_naive']:.3f} / {t['nll_app']:.3f}",
             f"{v['n']}/{t['n']}"]]


HEADERS = ["run", "test acc.", "T naive fit", "T app", "val ECE before → app",
           "test ECE before → naive", "test ECE before → app", "ECE noise floor",
           "test NLL before → naive / app", "val/test n"]


def _group_line(label: str, results: list[dict]) -> str:
    if not results:
        return ""
    pool = pooled(results)
    lowered = sum(r["test"]["ece_app"] < r["test"]["ece_before"] for r in results)
    kept = sum(not r["accepted"] for r in results)
    return (f"{label}: pooled test images ({pool['n']}): ECE {_pct(pool['before'][0])} → naive "
            f"{_pct(pool['naive'][0])} / app {_pct(pool['app'][0])} (noise floor "
            f"{_pct(pool['floor'])}); NLL {pool['before'][1]:.4f} → naive {pool['naive'][1]:.4f} / "
            f"app {pool['app'][1]:.4f}; mean per-run test ECE "
            f"{_pct(np.mean([r['test']['ece_before'] for r in results]))} → "
            f"{_pct(np.mean([r['test']['ece_app'] for r in results]))}; the app's T lowered "
            f"the test ECE in {lowered}/{len(results)} runs and kept T = 1 in {kept}")


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("which", choices=("sample", "fashion"))
    p.add_argument("--data", default=None, help="dataset (default: the bundled sample / "
                                                f"{FASHION})")
    p.add_argument("--seeds", type=int, nargs="+", default=[1, 2, 3, 4, 5])
    p.add_argument("--epochs", type=int, default=None,
                   help="sample: Auto's epochs (default: the app's, from the dataset size; early "
                        "stopping on)")
    p.add_argument("--overfit-epochs", type=int, default=40,
                   help="sample: also an MLP trained this long without early stopping, per seed "
                        "(overconfident; 0: skip)")
    p.add_argument("--mlp-epochs", type=int, default=25,
                   help="fashion: an MLP trained this long without early stopping (overconfident)")
    p.add_argument("--default-epochs", type=int, default=4,
                   help="fashion: the default (Auto) model, early stopping on")
    args = p.parse_args(argv)
    root = tempfile.mkdtemp(prefix="wb-ece-bench-")
    if args.which == "sample":
        data = args.data or SAMPLE_DIR
        plan = [(f"sample, Auto (default), seed {s}", "default", "auto", args.epochs, True, s)
                for s in args.seeds]
        if args.overfit_epochs > 0:
            plan += [(f"sample, MLP {args.overfit_epochs} epochs to overconfidence, seed {s}",
                      "overconfident", "mlp", args.overfit_epochs, False, s) for s in args.seeds]
    else:
        data = args.data or FASHION
        plan = [(f"Fashion-MNIST, MLP {args.mlp_epochs} epochs to overconfidence", "overconfident",
                 "mlp", args.mlp_epochs, False, 42),
                (f"Fashion-MNIST, Auto (default) {args.default_epochs} epochs", "default", "auto",
                 args.default_epochs, True, 42)]
        plan = [x for x in plan if x[3] > 0]
    rows, groups = [], {}
    t0 = time.perf_counter()
    for i, (label, group, model, epochs, stop, seed) in enumerate(plan):
        run, index, secs = train_run(data, root, f"r{i}", model, epochs, seed, stop)
        m = measure(run, index)
        groups.setdefault(group, []).append(m)
        rows += _rows(f"{label} ({secs:.0f} s)", m)
    summary = "\n".join(_group_line(f"{g} ({len(r)} runs)", r) for g, r in groups.items())
    print(machine_line())
    print(f"Data: {data}; ECE: 15 equal-width bins; 'naive': the validation NLL fit always applied")
    print()
    print(table(HEADERS, rows))
    if summary:
        print("\n" + summary)
    print(f"\nTotal {time.perf_counter() - t0:.0f} s; peak RSS {peak_rss_mb():.0f} MB")
    return 0


if __name__ == "__main__":
    sys.exit(main())
