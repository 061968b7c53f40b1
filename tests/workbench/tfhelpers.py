"""Set-up steps of the GUI tests that need TensorFlow, run in a child process with
:func:`tests.childcall.call_in_child` (``"tests.workbench.tfhelpers:train_run"``): the
GUI tests' process, like the app's, never imports TensorFlow. Arguments and results are
JSON."""
from __future__ import annotations


def train_run(data: str, run_dir: str, kind: str = "cnn", size: int = 16, epochs: int = 1,
              batch_size: int = 8, stop_after_epoch: int | None = None) -> dict:
    """Train a tiny ``kind`` model on ``data`` into ``run_dir``; ``{"run_dir", "status"}``."""
    from tests.training.trainutil import Recorder, tiny_spec
    from training.fit.train import train
    from training.recipe.config import TrainConfig

    events = (Recorder(stop_when=lambda k, p: k == "epoch" and p.get("epoch") == stop_after_epoch)
              if stop_after_epoch else None)
    s = train(str(data), tiny_spec(kind, size=size), TrainConfig(epochs=epochs, batch_size=batch_size),
              events, run_dir=str(run_dir))
    return {"run_dir": s.run_dir, "status": s.status}


def evaluate_run(run_dir: str, dataset: str | None = None) -> None:
    from training.inference.evaluate import evaluate

    evaluate(run_dir, dataset=dataset)


def export_run(run_dir: str, formats: str, out_dir: str) -> list[str]:
    """The paths of the exported files."""
    from training.export.exporter import export

    return [a["path"] for a in export(run_dir, formats, out_dir)["artifacts"]]


def export_and_predict(run_dir: str, formats: str, out_dir: str, path: str) -> dict:
    """``{"paths": export_run(...), "expected": predict_path(run_dir, path)}`` in one call:
    each child process imports TensorFlow and loads the model (~8 CPU-s on 2 cores)."""
    return {"paths": export_run(run_dir, formats, out_dir), "expected": predict_path(run_dir, path)}


def predict_path(run_dir: str, path: str) -> dict:
    """``Predictor(run_dir).predict_paths([path])[0]`` without its arrays."""
    from training.inference.predict import Predictor

    row = Predictor(run_dir, which="final").predict_paths([path])[0]
    return {k: v for k, v in row.items() if k in ("path", "top_k", "probabilities", "error")}


def save_lambda_model(run_dir: str) -> None:
    """Overwrite the run's models with one that needs unsafe deserialisation (a Lambda)."""
    import keras

    inp = keras.Input((16, 16, 3))
    out = keras.layers.Lambda(lambda x: x[:, 0, 0, :])(inp)
    model = keras.Model(inp, keras.layers.Dense(3, activation="softmax")(out))
    for name in ("model_best.keras", "model_final.keras"):
        model.save(f"{run_dir}/{name}")
