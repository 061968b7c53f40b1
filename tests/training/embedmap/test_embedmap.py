"""The embedding map's core on a real run (scikit-learn's digits, a small CNN, 3 epochs):
every image's features stored memory-mapped with the run, the PCA preview and UMAP map
cached per run, exact "more like this", the ``map``/``similar`` CLI and the compute
service's ``embedding_map``/``similar`` requests."""
from __future__ import annotations

import csv
import os
import shutil

import numpy as np
import pytest

from tests.training.trainutil import run_cli
from tests.trustrun import digits_run


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    """A private copy of the shared digits run (these tests write files into it)."""
    shared = digits_run()
    dst = tmp_path_factory.mktemp("embedmap") / "run"
    shutil.copytree(shared["run_dir"], dst)
    return {**shared, "run_dir": str(dst)}


@pytest.fixture(scope="module")
def store(run):
    from training.embedmap.store import compute_run_features

    return compute_run_features(run["run_dir"])


def test_every_image_of_every_split_is_stored_memory_mapped(run, store):
    from training.data import open_dataset
    from training.features.embeddings import Embedder
    from training.inference.predict import Predictor
    from training.embedmap.store import open_run_features
    from training.runs.runfolder import RunFolder

    index = open_dataset(run["data"])
    assert len(store) == len(index) == 1200
    assert sorted(set(store.splits.tolist())) == [0, 1, 2]
    assert isinstance(store.features, np.memmap) and store.features.dtype == np.float32
    assert [str(p) for p in store.paths] == [index.paths[r] for r in store.rows]
    # The stored features are the Embedder's (the one owner of "what the model sees").
    predictor = Predictor(run["run_dir"])
    from training.data import decode_image

    pick = [0, 500, 1199]
    x = np.stack([decode_image(str(store.paths[i]), predictor.input_size, predictor.color_mode)
                  for i in pick])
    np.testing.assert_allclose(Embedder(predictor.model).embed_batch(x), store.features[pick],
                               atol=1e-4)
    np.testing.assert_array_equal(store.predicted, store.probabilities.argmax(axis=1))
    # A rewritten model makes the store stale; a damaged one is an error that names it.
    folder = RunFolder(run["run_dir"])
    assert open_run_features(run["run_dir"]) is not None
    st = os.stat(folder.model_final)
    os.utime(folder.model_final, ns=(st.st_atime_ns, st.st_mtime_ns + 10**9))
    try:
        assert open_run_features(run["run_dir"]) is None
    finally:
        os.utime(folder.model_final, ns=(st.st_atime_ns, st.st_mtime_ns))
    assert not [p for p in os.listdir(run["run_dir"]) if p.endswith(".tmp")]


def test_pca_preview_is_cached_per_store(store):
    from training.embedmap.projection import ensure_map, pca_2d, read_map

    seen = []
    first = ensure_map(store, final=False, on_preview=seen.append)
    assert first["method"] == "pca" and first["final"] is None and not first["cached"]
    assert first["preview"].shape == (len(store), 2) and len(seen) == 1
    again = ensure_map(store, final=False)
    assert again["cached"]
    np.testing.assert_array_equal(again["preview"], first["preview"])
    np.testing.assert_allclose(pca_2d(store.features), first["preview"], atol=1e-4)
    # The preview separates the classes: each class's centre is nearer its own points.
    xy, y = first["preview"], store.labels
    centres = np.stack([xy[y == c].mean(axis=0) for c in range(10)])
    nearest = np.argmin(((xy[:, None, :] - centres[None]) ** 2).sum(-1), axis=1)
    assert (nearest == y).mean() > 0.4
    assert read_map(store) is not None


def test_more_like_this_is_exact_and_votes_like_the_model(store, run):
    from training.embedmap.similar import NeighbourIndex, knn_vote, similar_to_paths

    index = NeighbourIndex.from_store(store)
    train = np.flatnonzero(store.splits == 0)
    assert len(index) == len(train)
    f = np.asarray(store.features[train[:3]])
    idx, dist = index.query(f, k=4, exclude=train[:3])
    assert idx.shape == (3, 4) and not np.isin(train[:3], idx).any()   # itself left out
    assert (np.diff(dist, axis=1) >= -1e-6).all()
    # Brute force agrees.
    unit = f / np.linalg.norm(f, axis=1, keepdims=True)
    allf = np.asarray(store.features[train])
    sims = unit @ (allf / np.linalg.norm(allf, axis=1, keepdims=True)).T
    sims[np.arange(3), np.arange(3)] = -np.inf
    np.testing.assert_array_equal(train[np.argsort(-sims, axis=1)[:, :4]], idx)
    # A 5-NN vote on the test images is about as accurate as the model itself.
    test = np.flatnonzero(store.splits == 2)
    vote = knn_vote(index, store.labels, np.asarray(store.features[test]), k=5)
    model_acc = (store.predicted[test] == store.labels[test]).mean()
    assert (vote == store.labels[test]).mean() >= model_acc - 0.05
    # A photo from elsewhere is embedded; a broken file gets its reason.
    bad = os.path.join(run["run_dir"], "broken.png")
    with open(bad, "wb") as fh:
        fh.write(b"not an image")
    from training.features.embeddings import Embedder
    from training.inference.predict import Predictor

    pred = Predictor(run["run_dir"])
    emb = Embedder(pred.model)
    got = similar_to_paths(store, index, [str(store.paths[test[0]]), run["photos"][0], bad], 3,
                           emb.embed_batch, None, pred.input_size, pred.color_mode)
    assert [len(g["neighbours"]) for g in got] == [3, 3, 0]
    assert got[2]["error"] and got[0]["error"] is None
    assert all(n["split"] == "train" for n in got[1]["neighbours"])


def test_cli_map_writes_the_umap_csv_and_similar_prints_json(run, store, tmp_path, capsys):
    out = tmp_path / "map.csv"
    code, payload, err = run_cli(capsys, "map", run["run_dir"], "--out", out, "--json")
    assert code == 0, err
    assert payload["method"] == "umap" and payload["count"] == 1200
    with open(out, newline="", encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    assert list(rows[0]) == ["path", "split", "label", "predicted", "x", "y"]
    assert len(rows) == 1200 and {r["split"] for r in rows} == {"train", "validation", "test"}
    xy = np.array([[float(r["x"]), float(r["y"])] for r in rows])
    assert np.isfinite(xy).all() and xy.std(axis=0).min() > 0
    first = str(store.paths[0])
    code, payload, err = run_cli(capsys, "similar", run["run_dir"], first, run["photos"][0],
                                 "--k", "5", "--json")
    assert code == 0, err
    assert [r["path"] for r in payload["results"]] == [first, run["photos"][0]]
    for r in payload["results"]:
        assert len(r["neighbours"]) == 5
        assert set(r["neighbours"][0]) == {"path", "label", "distance"}
    code, payload, _ = run_cli(capsys, "similar", str(tmp_path / "no-run"), first, "--json")
    assert code == 2 and payload["kind"] == "bad_input" and "no-run" in payload["error"]
    code, payload, _ = run_cli(capsys, "similar", str(tmp_path), first, "--json")
    assert code == 2 and "not a run folder" in payload["error"]
    # A model exported into the run ("an exported model's input") finds the run's images.
    exported = os.path.join(run["run_dir"], "exports", "model.onnx")
    os.makedirs(os.path.dirname(exported), exist_ok=True)
    open(exported, "wb").close()
    code, payload, err = run_cli(capsys, "similar", exported, run["photos"][0], "--k", "2", "--json")
    assert code == 0, err
    assert payload["run_dir"] == run["run_dir"] and len(payload["results"][0]["neighbours"]) == 2
    code, payload, _ = run_cli(capsys, "similar", run["run_dir"], first, "--k", "0", "--json")
    assert code == 2 and "--k" in payload["error"]


def test_umap_stops_at_the_next_epoch_when_asked(store):
    from training.embedmap.projection import final_map
    from training.events import StopFlagEvents, Stopped

    class StopAtFirstProgress(StopFlagEvents):
        seen = 0

        def on_progress(self, done, total, what):
            self.seen += 1
            self.stop()

    events = StopAtFirstProgress()
    with pytest.raises(Stopped):
        final_map(np.asarray(store.features[:400]), events)
    assert events.seen == 1


def test_the_service_streams_the_map_and_answers_similar(run, store, tmp_path):
    from tests.training.service.serviceproc import ServiceProc
    from training.service import protocol as P

    svc = ServiceProc(tmp_path / "service.log")
    try:
        rid = svc.request("embedding_map", run_dir=run["run_dir"], final=False)
        reply = svc.final(rid, timeout=300)
        assert reply["type"] == P.RESULT, reply
        parts = [m["data"] for m in svc.messages_for(rid) if m["type"] == P.PARTIAL]
        points = next(p["points"] for p in parts if "points" in p)
        preview = next(p["preview"] for p in parts if "preview" in p)
        assert len(points["paths"]) == 1200 and points["labels"].dtype == np.int32
        assert preview.shape == (1200, 2) and preview.dtype == np.float32
        # The CLI test cached the UMAP map of this store: it comes back without recomputing.
        final = reply["data"]["final"]
        assert reply["data"]["method"] == "umap" and final.shape == (1200, 2)
        out = svc.call("similar", run_dir=run["run_dir"], k=4,
                       paths=[points["paths"][10], run["photos"][1]])
        assert [len(r["neighbours"]) for r in out["results"]] == [4, 4]
        assert out["results"][0]["neighbours"][0]["path"] != points["paths"][10]
    finally:
        svc.close()
