"""Training, evaluation and prediction through the batch pipeline: reproducible whether the
pixels come from files or the store, bounded memory, and one image pipeline (prediction
sees exactly the pixels and probabilities evaluation saw)."""
import json
import os
import tracemalloc

import numpy as np

from tests.imagegen import class_image, make_class_folder, write_image
from tests.training.trainutil import tiny_spec
from training.recipe.config import TrainConfig
from training.data import cache_dir, open_dataset, open_images
from training.fit.train import train


def _weights_digest(run_dir):
    import keras

    model = keras.saving.load_model(os.path.join(run_dir, "model_final.keras"), compile=False)
    return [w.copy() for w in model.get_weights()]


def test_first_run_from_files_equals_the_cached_run(tmp_path, monkeypatch):
    monkeypatch.setenv("WORKBENCH_CACHE_DIR", str(tmp_path / "cache"))
    root = make_class_folder(tmp_path / "d", per_class=16)
    (root / "cat" / "broken.png").write_bytes(b"\x89PNG\r\n\x1a\n broken")  # dropped both times
    cfg = TrainConfig(epochs=2, batch_size=8, early_stopping=False, seed=3)
    first = train(str(root), tiny_spec(), cfg, run_dir=str(tmp_path / "r1"))
    stores = os.path.join(cache_dir(), "stores")
    (key,) = os.listdir(stores)
    assert os.path.exists(os.path.join(stores, key, "manifest.json"))  # filled by the first run
    second = train(str(root), tiny_spec(), cfg, run_dir=str(tmp_path / "r2"))
    h1 = [(e["loss"], e["val_loss"]) for e in first.history]
    h2 = [(e["loss"], e["val_loss"]) for e in second.history]
    assert h1 == h2 and first.test_accuracy == second.test_accuracy
    for a, b in zip(_weights_digest(first.run_dir), _weights_digest(second.run_dir)):
        assert np.array_equal(a, b)
    info = json.loads((tmp_path / "r1" / "run.json").read_text())
    assert info["bad_files"] >= 0 and info.get("data_mode") == "store"


def test_training_over_budget_streams_with_bounded_memory(tmp_path, monkeypatch):
    """The decoded dataset (400 x 128x128x3 = 19.7 MB) is 200x the cache budget: it is
    decoded on the fly each epoch, and Python-side memory never holds it (peak traced
    allocations, which include every NumPy array, stay well below the dataset's size)."""
    monkeypatch.setenv("WORKBENCH_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.setenv("WORKBENCH_CACHE_MAX_MB", "0.1")
    root = make_class_folder(tmp_path / "d", classes=("a", "b"), per_class=200, size=128)
    decoded_bytes = 400 * 128 * 128 * 3
    batch_bytes = 16 * 128 * 128 * 3
    index = open_dataset(str(root))
    with open_images(index, 128, "rgb") as data:
        assert data.mode == "stream"
        tracemalloc.start()
        try:
            for _ in range(2):
                for _batch in data.batches(data.rows, 16):
                    pass
            _, peak = tracemalloc.get_traced_memory()
        finally:
            tracemalloc.stop()
    assert peak < 6 * batch_bytes  # a few batches in flight, never the dataset
    # Training (opening the data and the epochs, where every image is read): the peak must not grow with the
    # dataset. Keras' own Python objects take the same few MB for 40 images as for 400.
    # Same validation and test sizes (4 images each), so only the training set differs:
    # 32 against 392 images. (The evaluation's extras after training read bounded,
    # fixed-size subsamples and are not part of this measurement.)
    from training.fit import session as session_mod
    from training.data import DatasetSpec

    small = make_class_folder(tmp_path / "small", classes=("a", "b"), per_class=20, size=128)
    peaks = {}
    prepare, head_phase = session_mod.Session._prepare_data, session_mod.Session._head_phase

    def measured_prepare(self):  # from opening the data ...
        tracemalloc.start()
        return prepare(self)

    def measured_head(self):  # ... to the end of the last epoch
        try:
            return head_phase(self)
        finally:
            peaks[name] = tracemalloc.get_traced_memory()[1]
            tracemalloc.stop()

    monkeypatch.setattr(session_mod.Session, "_prepare_data", measured_prepare)
    monkeypatch.setattr(session_mod.Session, "_head_phase", measured_head)
    for name, folder, frac in (("small", small, 0.1), ("big", root, 0.01)):
        cfg = TrainConfig(epochs=2, batch_size=16, early_stopping=False, seed=0)
        dataset = DatasetSpec(path=str(folder), val_fraction=frac, test_fraction=frac)
        summary = train(dataset, tiny_spec(size=128, units=8), cfg, run_dir=str(tmp_path / name))
        assert summary.status == "complete" and summary.epochs_done == 2
        assert json.loads((tmp_path / name / "run.json").read_text())["data_mode"] == "stream"
    growth = peaks["big"] - peaks["small"]
    # The old path held the whole decoded array: growth would be ~18 MB here.
    assert growth < decoded_bytes / 4, f"peak grew by {growth / 2**20:.1f} MB for 10x the images"
    assert not os.path.exists(os.path.join(cache_dir(), "stores")) or \
        not os.listdir(os.path.join(cache_dir(), "stores"))


def test_predicting_a_file_gives_the_pixels_and_probabilities_of_evaluation(tmp_path, monkeypatch):
    monkeypatch.setenv("WORKBENCH_CACHE_DIR", str(tmp_path / "cache"))
    from PIL import Image

    root = make_class_folder(tmp_path / "d", per_class=12, size=16)
    rng = np.random.default_rng(1)
    # Files that need shrinking or enlarging, 16-bit, odd extensions: the cases where pipelines disagreed.
    for i in range(3):
        write_image(root / "dog" / f"big_{i}.jpe", class_image(1, 40, rng), fmt="JPEG")
        Image.fromarray(class_image(2, 30, rng)).save(root / "fox" / f"photo_{i}.jfif", "JPEG")
        deep = (class_image(0, 24, rng)[:, :, 0].astype(np.uint16) * 257)
        Image.fromarray(deep).save(root / "cat" / f"deep_{i}.png")
        write_image(root / "fox" / f"tiny_{i}.png", class_image(2, 10, rng))  # enlarged (OpenCV)
    cfg = TrainConfig(epochs=1, batch_size=8, early_stopping=False, seed=0)
    summary = train(str(root), tiny_spec(size=16), cfg, run_dir=str(tmp_path / "r"))
    from training.inference.predict import Predictor, expand_paths
    from training.runs.runfolder import RunFolder

    result = RunFolder(summary.run_dir).read_evaluation()
    by_path = {p["path"]: p for p in result["predictions"]}
    odd = [p for p in by_path if p.endswith((".jpe", ".jfif")) or "deep_" in p or "tiny_" in p]
    assert set(expand_paths([str(root)])) == set(open_dataset(str(root)).paths)  # same extensions
    predictor = Predictor(summary.run_dir, which="final")
    rows = predictor.predict_paths(list(by_path))
    for row in rows:
        expect = by_path[row["path"]]["probabilities"]
        assert np.allclose(row["probabilities"], expect, rtol=0, atol=1e-6), row["path"]
    # Pixels: the decoded file as prediction prepares it == the store's record.
    from training.data import decode_image

    index = open_dataset(str(root))
    with open_images(index, predictor.input_size, predictor.color_mode) as data:
        for path in odd or list(by_path)[:3]:
            x, _ = data.read([index.paths.index(path)])
            assert np.array_equal(x[0], decode_image(path, predictor.input_size, predictor.color_mode))
            # An image handed over as an array at its own size is resized the same way.
            raw = decode_image(path)
            p_arr = predictor.predict_array(raw)
            assert np.allclose(p_arr, by_path[path]["probabilities"], atol=1e-6)
