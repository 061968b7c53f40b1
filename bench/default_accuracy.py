"""Default accuracy: the app with no flags vs classic baselines and Keras' own example.

For each dataset (``bench/suite_data.py``) and seed, on the same split and the same
decoded pixels:

- **default**: what ``python -m training train DATA`` does with no flags: the Auto
  choice (template, size, augmentation, its mirror check), its epochs, ``TrainConfig()``.
  Wall seconds are the whole of it after TensorFlow's import: opening the dataset, Auto,
  training, calibration, evaluation.
- **keras**: Keras' "simple MNIST convnet" (keras.io/examples/vision/mnist_convnet) as
  written: Conv 32 -> pool -> Conv 64 -> pool -> Dropout 0.5 -> Dense, Adam, batch 128,
  15 epochs, 10 % validation split, on the same training + validation images; inputs
  smaller than 28x28 are enlarged to 28x28 (the example's convolutions need it).
  For inputs under 16 px a side the run's final model is also scored with shift
  test-time augmentation (the image and its 4 or 8 one-pixel shifts averaged, the edge
  repeated or black), off the clock: ``shift_tta``.
- **svm**: RBF SVMs on pixels and on HOG features, C chosen by 3-fold cross-validation
  (on at most ``--svm-cv-images`` of the fit images), fitted on training + validation.

Tuning: the recipe was tuned on ``fashion10000`` (and the sample); the mirror check's
threshold on ``digits``, 3,000 Fashion-MNIST images and ``faces``. The other datasets
were not looked at before the published run.

    python bench/default_accuracy.py digits faces sample photos --seeds 0 1 2
    python bench/default_accuracy.py fashion --seeds 0 --curve docs/benchmarks/tta.png

Prints one Markdown row per dataset (mean ± sd over seeds) for docs/BENCHMARKS.md, and
the time-to-accuracy points (test accuracy after each epoch against wall seconds, the
evaluation time taken off the clock) with ``--curve``.
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from common import cpu_seconds, fmt, load_line, machine_line, peak_rss_mb, table
from suite_data import ALL, LABELS, has_fixed_split, resolve

KERAS_EPOCHS, KERAS_BATCH = 15, 128


class _Clock:
    """Wall seconds with pauses (the curve's per-epoch test evaluation is not counted)."""

    def __init__(self):
        self.start, self.paused = time.perf_counter(), 0.0

    def now(self) -> float:
        return time.perf_counter() - self.start - self.paused


# Folder datasets are split per seed with a quarter for testing (the app's default is
# 10 %): 20 test images of the 200 faces would make every image 5 points.
TEST_FRACTION = 0.25


def open_split(path: str, seed: int):
    from training.data import DatasetSpec, open_dataset

    spec = DatasetSpec(path=path, seed=seed, test_fraction=TEST_FRACTION)
    index = open_dataset(spec)
    index.spec = spec
    return index


def test_arrays(index, size, color):
    """Every test image of ``index`` at ``size``/``color``, decoded by the app's loader."""
    from training.data import open_images
    from training.data.index import TEST

    with open_images(index, tuple(size), color) as data:
        x, kept = data.read(data.split_rows(TEST))
    return x, np.asarray(index.labels)[kept]


def parse_settings(pairs) -> dict:
    """``--set NAME=VALUE`` pairs as TrainConfig keyword arguments (JSON values, else text)."""
    out = {}
    for pair in pairs or ():
        name, _, text = pair.partition("=")
        try:
            out[name] = json.loads(text)
        except ValueError:
            out[name] = text
    return out


def app_default(path: str, seed: int, curve: bool, settings: dict | None = None,
                min_steps: int | None = None, gray_flips: bool = False) -> dict:
    """``python -m training train PATH --seed SEED`` (no other flags), timed; ``settings``
    changes TrainConfig fields (a candidate default, measured against the current one)."""
    from training.events import Events
    from training.fit.train import train
    from training.recipe.auto import auto_choice
    from training.recipe.config import TrainConfig

    clock = _Clock()
    cpu0 = cpu_seconds()
    index = open_split(path, seed)
    choice = auto_choice(index)
    if gray_flips and choice.spec.augmentation.translation and choice.spec.augmentation.flip == "none":
        from training.recipe.flips import mirror_check

        if mirror_check(index).safe:  # a candidate: flips for mirror-safe grayscale sets too
            choice.spec.augmentation.flip = "horizontal"
    points, test = [], None
    run_dir = tempfile.mkdtemp(prefix="bench-default-")
    os.rmdir(run_dir)

    class CurveEvents(Events):
        def on_epoch(self, info):
            nonlocal test
            t = time.perf_counter()
            from training.runs.runfolder import RunFolder, load_model_file

            if test is None:
                test = test_arrays(index, choice.spec.input_size, choice.spec.color_mode)
            model = load_model_file(RunFolder(run_dir).model_last)
            p = model.predict(test[0].astype("float32"), batch_size=256, verbose=0)
            p = np.c_[1 - p, p] if p.shape[1] == 1 else p
            points.append((clock.now(), float((p.argmax(1) == test[1]).mean())))
            clock.paused += time.perf_counter() - t

    epochs = choice.epochs
    if min_steps is not None:  # a candidate epoch budget (training.recipe.epoch_budget)
        from training.recipe.epoch_budget import default_epochs

        epochs = default_epochs(sum(index.counts().get("train", {}).values()), min_steps=min_steps)
    config = TrainConfig(**{"epochs": epochs, "seed": seed, **(settings or {})})
    summary = train(index, choice.spec, config,
                    CurveEvents() if curve else None, run_dir=run_dir)
    seconds = clock.now()
    from training.runs.runfolder import RunFolder

    timings = RunFolder(run_dir).load().get("timings") or {}
    tta = {}
    if os.path.isfile(RunFolder(run_dir).model_final):
        model, x, y = final_model_and_test(index, choice, run_dir)
        tta = flip_tta(index, choice, model, x, y)
        if min(choice.spec.input_size) < SHIFT_TTA_BELOW:
            tta.update(shift_tta(model, x, y))
    return {"accuracy": summary.test_accuracy, "seconds": seconds, "epochs": summary.epochs_done,
            **tta,
            "cpu": cpu_seconds() - cpu0, "cores_in_fit": timings.get("cpu_cores_in_fit"),
            "template": choice.template, "size": tuple(choice.spec.input_size),
            "color": choice.spec.color_mode, "index": index, "reasons": choice.reasons,
            "curve": points}


def final_model_and_test(index, choice, run_dir):
    """``(model, x, y)``: the run's final model and every test image (float32) with its
    label, loaded once for all the test-time augmentation scores."""
    from training.runs.runfolder import RunFolder, load_model_file

    x, y = test_arrays(index, choice.spec.input_size, choice.spec.color_mode)
    return load_model_file(RunFolder(run_dir).model_final), x.astype("float32"), y


def flip_tta(index, choice, model, x, y) -> dict:
    """Test accuracy of the run's final model on the image alone (plain) and averaged with
    the left-right mirror (flip TTA), off the clock; with the mirror check's verdict,
    whether the model trained with flips and whether it has TTA built in
    (``training.models.tta``: then its own output is the TTA one and ``plain`` is its
    first view)."""
    from training.features.modelcall import to_probabilities
    from training.models.tta import has_flip_tta, view_probabilities
    from training.recipe.flips import mirror_check

    built_in = has_flip_tta(model)
    views = view_probabilities(model) if built_in else model
    plain, mirror = [], []
    for start in range(0, len(x), 256):  # per batch: a TTA model's rows are [images, mirrors]
        b = x[start:start + 256]
        if built_in:
            p = to_probabilities(views(b, training=False).numpy())
            plain.append(p[:len(b)])
            mirror.append(p[len(b):])
        else:
            plain.append(to_probabilities(model(b, training=False).numpy()))
            mirror.append(to_probabilities(model(b[:, :, ::-1, :], training=False).numpy()))
    plain, mirror = np.concatenate(plain), np.concatenate(mirror)
    both = (plain + mirror) / 2
    return {"plain_accuracy": float((plain.argmax(1) == y).mean()),
            "tta_accuracy": float((both.argmax(1) == y).mean()),
            "mirror_safe": mirror_check(index).safe, "built_in_tta": built_in,
            "trained_with_flips": choice.spec.augmentation.flip != "none"}


# Shift test-time augmentation candidates are measured, on the run's own final model, for
# images this small (issue 21: tiny inputs); off the clock.
SHIFT_TTA_BELOW = 16
_SHIFTS = {4: ((0, 1), (0, -1), (1, 0), (-1, 0)),
           8: ((0, 1), (0, -1), (1, 0), (-1, 0), (1, 1), (1, -1), (-1, 1), (-1, -1))}


def shift_tta(model, x, y) -> dict:
    """Test accuracy of the run's final model averaged over the image and its one-pixel
    shifts (4 or 8 neighbours; the uncovered edge repeated or black), each candidate
    paired with the plain model on the same images. A model with built-in TTA is
    measured on what it outputs (its candidates are then on top of its own views)."""
    from training.features.modelcall import to_probabilities

    h, w = x.shape[1:3]

    def probs(images):
        return np.concatenate([to_probabilities(model(images[s:s + 256], training=False).numpy())
                               for s in range(0, len(images), 256)])

    plain = probs(x)
    out = {"shift_plain_accuracy": float((plain.argmax(1) == y).mean())}
    for fill in ("edge", "constant"):
        padded = np.pad(x, ((0, 0), (1, 1), (1, 1), (0, 0)), mode=fill)
        shifted = {d: probs(padded[:, 1 - d[0]:1 - d[0] + h, 1 - d[1]:1 - d[1] + w])
                   for d in _SHIFTS[8]}
        for n, offsets in _SHIFTS.items():
            mean = (plain + sum(shifted[d] for d in offsets)) / (1 + n)
            out[f"shift{n}_{fill}_accuracy"] = float((mean.argmax(1) == y).mean())
    return out


def keras_example(index, size, color, seed: int, curve: bool) -> dict:
    """Keras' mnist_convnet as written, on the app's decoded pixels of this split."""
    import keras

    from training.data import open_images
    from training.data.index import TEST

    size = tuple(max(28, int(v)) for v in size)
    with open_images(index, size, color) as data:
        x, kept = data.read(data.rows)
    splits, y = np.asarray(index.splits)[kept], np.asarray(index.labels)[kept]
    classes = len(index.classes)
    clock = _Clock()
    cpu0 = cpu_seconds()
    keras.utils.set_random_seed(seed)
    fit = splits != TEST
    x_fit, y_fit = x[fit].astype("float32") / 255, keras.utils.to_categorical(y[fit], classes)
    x_test, y_test = x[~fit].astype("float32") / 255, keras.utils.to_categorical(y[~fit], classes)
    L = keras.layers
    model = keras.Sequential([
        keras.Input(shape=x.shape[1:]), L.Conv2D(32, kernel_size=(3, 3), activation="relu"),
        L.MaxPooling2D(pool_size=(2, 2)), L.Conv2D(64, kernel_size=(3, 3), activation="relu"),
        L.MaxPooling2D(pool_size=(2, 2)), L.Flatten(), L.Dropout(0.5),
        L.Dense(classes, activation="softmax")])
    model.compile(loss="categorical_crossentropy", optimizer="adam", metrics=["accuracy"])
    points = []

    class Curve(keras.callbacks.Callback):
        def on_epoch_end(self, epoch, logs=None):
            t = time.perf_counter()
            p = self.model.predict(x_test, batch_size=256, verbose=0)
            points.append((clock.now(), float((p.argmax(1) == y[~fit]).mean())))
            clock.paused += time.perf_counter() - t

    model.fit(x_fit, y_fit, batch_size=KERAS_BATCH, epochs=KERAS_EPOCHS, validation_split=0.1,
              verbose=0, callbacks=[Curve()] if curve else [])
    _, acc = model.evaluate(x_test, y_test, verbose=0)
    return {"accuracy": float(acc), "seconds": clock.now(), "cpu": cpu_seconds() - cpu0,
            "curve": points}


def svm_baselines(index, size, color, max_train: int | None, cv_images: int, seed: int = 0) -> dict:
    """RBF SVMs on pixels and HOG; C by 3-fold CV; fitted on train + validation."""
    from skimage.feature import hog
    from sklearn.model_selection import GridSearchCV
    from sklearn.svm import SVC

    from training.data import open_images
    from training.data.index import TEST

    with open_images(index, tuple(size), color) as images:
        x, kept = images.read(images.rows)
    splits, y = np.asarray(index.splits)[kept], np.asarray(index.labels)[kept]
    rng = np.random.default_rng(seed)
    fit_rows, test_rows = np.flatnonzero(splits != TEST), np.flatnonzero(splits == TEST)
    if max_train and len(fit_rows) > max_train:
        fit_rows = np.sort(rng.choice(fit_rows, max_train, replace=False))
    cv_rows = fit_rows if len(fit_rows) <= cv_images else np.sort(rng.choice(fit_rows, cv_images, replace=False))

    def pixels(rows):
        return np.asarray(x[rows], np.float32).reshape(len(rows), -1) / 255.0

    def hogs(rows):
        cell = max(2, min(size) // 4)
        return np.stack([hog(np.asarray(x[r], np.float32).mean(-1) / 255.0, orientations=9,
                             pixels_per_cell=(cell, cell), cells_per_block=(2, 2)) for r in rows])

    out = {"fit_images": len(fit_rows), "test_images": len(test_rows)}
    for name, features in (("svm_pixels", pixels), ("svm_hog", hogs)):
        t = time.perf_counter()
        grid = GridSearchCV(SVC(gamma="scale"), {"C": [1, 10, 100]}, cv=3, n_jobs=1)
        grid.fit(features(cv_rows), y[cv_rows])
        svm = SVC(C=grid.best_params_["C"], gamma="scale").fit(features(fit_rows), y[fit_rows])
        acc = float((svm.predict(features(test_rows)) == y[test_rows]).mean())
        out[name] = {"accuracy": acc, "C": grid.best_params_["C"], "seconds": time.perf_counter() - t}
    return out


def _ms(values) -> str:
    v = np.asarray([a for a in values if a is not None], float)
    if not len(v):
        return "–"
    return f"{v.mean():.4f} ± {v.std(ddof=1) if len(v) > 1 else 0:.4f}"


def draw_curve(curves: dict, path: str, title: str) -> None:
    """Test accuracy against wall seconds, one line per method (standalone Agg figure)."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=(7, 4.2), dpi=110)
    FigureCanvasAgg(fig)
    ax = fig.add_subplot()
    for label, points in curves.items():
        if points:
            t, a = zip(*points)
            ax.plot(t, a, marker="o", markersize=3, label=label)
    ax.set_xlabel("wall seconds (2 shared CPU cores; evaluation off the clock)")
    ax.set_ylabel("test accuracy")
    ax.set_title(title)
    ax.grid(alpha=0.3)
    ax.legend(loc="lower right")
    fig.tight_layout()
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    fig.savefig(path)


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("datasets", nargs="*", default=ALL, help=f"any of {', '.join(ALL)} or a path")
    p.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    p.add_argument("--methods", default="default,keras,svm")
    p.add_argument("--svm-max-train", type=int, default=10000)
    p.add_argument("--svm-cv-images", type=int, default=3000)
    p.add_argument("--curve", metavar="PNG", help="draw the first seed's time-to-accuracy curves")
    p.add_argument("--json", metavar="FILE", help="append every result as a JSON line")
    p.add_argument("--set", action="append", metavar="NAME=VALUE",
                   help="a TrainConfig field for the default (a candidate), e.g. ema_epochs=1")
    p.add_argument("--min-steps", type=int, help="a candidate epoch budget: at least this many "
                   "optimizer steps (training.recipe.epoch_budget.MIN_STEPS)")
    p.add_argument("--auto", action="append", metavar="NAME=VALUE",
                   help="a candidate Auto constant (training.recipe.auto), e.g. "
                   "TINY_FILTERS=32 for the choice before tiny images got a wider block")
    p.add_argument("--gray-flips", action="store_true", help="a candidate: horizontal flips "
                   "for grayscale sets the mirror check calls safe (Auto flips colour only)")
    args = p.parse_args(argv)
    methods = set(args.methods.split(","))
    settings = parse_settings(args.set)
    auto_settings = parse_settings(args.auto)
    if auto_settings:
        from training.recipe import auto

        for name, value in auto_settings.items():
            if not hasattr(auto, name):
                p.error(f"--auto: training.recipe.auto has no {name}")
            setattr(auto, name, value)
    print(machine_line(), flush=True)
    if settings or auto_settings or args.min_steps is not None or args.gray_flips:
        print(f"default with {settings}, Auto {auto_settings}, min steps {args.min_steps}, "
              f"grayscale flips {args.gray_flips}", flush=True)
    rows = []
    for name in args.datasets:
        path = resolve(name)
        res = {"default": [], "keras": [], "svm_pixels": [], "svm_hog": []}
        for k, seed in enumerate(args.seeds):
            curve = bool(args.curve) and k == 0
            line = {"dataset": name, "seed": seed, "load": os.getloadavg()[0], "time": time.time(),
                    "settings": settings, "auto": auto_settings, "min_steps": args.min_steps,
                    "gray_flips": args.gray_flips}
            app = (app_default(path, seed, curve, settings, args.min_steps, args.gray_flips)
                   if "default" in methods else None)
            index = app["index"] if app else open_split(path, seed)
            if app is None:
                from training.recipe.auto import auto_choice

                c = auto_choice(index)
                size, color = tuple(c.spec.input_size), c.spec.color_mode
            else:
                size, color = app["size"], app["color"]
                print(f"{name} seed {seed}: default {app['accuracy']:.4f} in {app['seconds']:.0f} s, "
                      f"{app['epochs']} epochs, {app['cores_in_fit'] or 0:.2f} cores in fit; "
                      f"flip TTA {app.get('tta_accuracy', float('nan')):.4f} (plain "
                      f"{app.get('plain_accuracy', float('nan')):.4f}, mirror-safe "
                      f"{app.get('mirror_safe')}, trained with flips "
                      f"{app.get('trained_with_flips')}); "
                      + " ".join(f"{k2[:-9]} {v:.4f}" for k2, v in app.items()
                                 if k2.startswith("shift") and k2.endswith("_accuracy"))
                      + "; Auto: "
                      + " ".join(app["reasons"]), flush=True)
                res["default"].append(app)
                line["default"] = {k2: v for k2, v in app.items() if k2 not in ("index",)}
            if "keras" in methods:
                ke = keras_example(index, size, color, seed, curve)
                res["keras"].append(ke)
                line["keras"] = ke
                print(f"{name} seed {seed}: keras example {ke['accuracy']:.4f} in {ke['seconds']:.0f} s",
                      flush=True)
            if "svm" in methods and (k == 0 or not has_fixed_split(name)):
                svm = svm_baselines(index, size, color, args.svm_max_train, args.svm_cv_images, seed)
                res["svm_pixels"].append(svm["svm_pixels"]["accuracy"])
                res["svm_hog"].append(svm["svm_hog"]["accuracy"])
                line["svm"] = svm
                print(f"{name} seed {seed}: SVM pixels {svm['svm_pixels']['accuracy']:.4f} "
                      f"(C={svm['svm_pixels']['C']}), HOG {svm['svm_hog']['accuracy']:.4f} "
                      f"(C={svm['svm_hog']['C']}) on {svm['fit_images']:,}/{svm['test_images']:,}",
                      flush=True)
            if args.json:
                with open(args.json, "a", encoding="utf-8") as f:
                    f.write(json.dumps(line, default=str) + "\n")
            if curve:
                curves = {"default (Auto)": (app or {}).get("curve"),
                          "Keras mnist_convnet example": line.get("keras", {}).get("curve")}
                draw_curve(curves, args.curve, f"{LABELS.get(name, name)}, seed {seed}")
                print("curve points:", json.dumps(curves), flush=True)
        d = [a["accuracy"] for a in res["default"]]
        kx = [a["accuracy"] for a in res["keras"]]
        best = max([np.mean(res["svm_pixels"]) if res["svm_pixels"] else 0,
                    np.mean(res["svm_hog"]) if res["svm_hog"] else 0])
        rows.append([LABELS.get(name, name), _ms(d), _ms(kx), _ms(res["svm_pixels"]), _ms(res["svm_hog"]),
                     f"{np.mean(d) - best:+.4f}" if d and best else "–",
                     f"{np.mean(d) - np.mean(kx):+.4f}" if d and kx else "–",
                     fmt(np.mean([a["seconds"] for a in res["default"]]), 0) if d else "–",
                     fmt(np.mean([a["seconds"] for a in res["keras"]]), 0) if kx else "–",
                     fmt(np.mean([a["cores_in_fit"] or 0 for a in res["default"]]), 2) if d else "–",
                     ", ".join(str(a["epochs"]) for a in res["default"])])
    print()
    print(table(["dataset", "default (mean ± sd)", "Keras example", "SVM pixels (CV)", "SVM HOG (CV)",
                 "default − best SVM", "default − Keras", "default s", "Keras s", "cores in fit",
                 "epochs"], rows))
    print(f"\nseeds {args.seeds}; peak RSS {peak_rss_mb():.0f} MB; {load_line()}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
