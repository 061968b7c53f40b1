"""Embedding map benchmark (issue 24) on the 70,000 Fashion-MNIST images.

Three steps, each its own process so peak memory and CPU belong to one step:

    python bench/embedding_map.py train --run RUN     # a small CNN, a few epochs (setup, not timed)
    python bench/embedding_map.py core --run RUN      # features, PCA, UMAP, search, 5-NN, label errors
    python bench/embedding_map.py gui --run RUN       # pan/zoom frame times, hover -> thumbnail

``core`` times the feature pass over every image (the run's Embedder, into the run
folder's memory-mapped store), the PCA preview, the final UMAP map in a fresh process
(numba's compile included: an empty numba cache), "more like this" query latency for the
exact search against scikit-learn's brute-force NearestNeighbors and an hnswlib index, the
5-NN vote accuracy on the test images against the model's own, and planted label errors
(5% of a 10,000-image training subset relabelled at random: the share whose 5 nearest
training neighbours mostly carry another label). ``gui`` draws the 70,000 points with
pyqtgraph (the Map view) and with a plain matplotlib scatter (FigureCanvasAgg) side by side.
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import time

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from bench.common import Stopwatch, cpu_seconds, fmt, machine_line, load_line, peak_rss_mb, table

FASHION = "/usr/share/datasets/fashion-mnist"


def train_run(run_dir: str, epochs: int) -> None:
    from training.data import DatasetSpec
    from training.fit.train import train
    from training.models import template
    from training.recipe.config import TrainConfig

    spec = template("cnn", input_size=(28, 28), color_mode="grayscale")
    t0 = time.perf_counter()
    summary = train(DatasetSpec(FASHION), spec, TrainConfig(epochs=epochs, batch_size=128,
                                                             learning_rate=2e-3), run_dir=run_dir)
    print(json.dumps({"run_dir": summary.run_dir, "seconds": time.perf_counter() - t0,
                      "test_accuracy": summary.test_accuracy if hasattr(summary, "test_accuracy")
                      else None}))


def _latencies(fn, queries, repeat: int = 1) -> list[float]:
    out = []
    for q in queries:
        t = time.perf_counter()
        for _ in range(repeat):
            fn(q)
        out.append((time.perf_counter() - t) * 1000 / repeat)
    return out


def _p(values, q) -> float:
    return float(np.percentile(values, q))


def core(run_dir: str, umap_child: bool) -> dict:
    from training.embedmap.projection import pca_2d
    from training.embedmap.similar import NeighbourIndex, knn_vote
    from training.embedmap.store import compute_run_features

    res: dict = {}
    cpu0 = cpu_seconds()
    with Stopwatch() as t:
        store = compute_run_features(run_dir)
    res["features_s"], res["features_cpu_s"] = t.seconds, cpu_seconds() - cpu0
    res["n"], res["dim"] = len(store), store.features.shape[1]
    res["rss_after_features_mb"] = peak_rss_mb()
    cpu0 = cpu_seconds()
    with Stopwatch() as t:
        pca_2d(store.features)
    res["pca_s"], res["pca_cpu_s"] = t.seconds, cpu_seconds() - cpu0

    # Search: 200 single queries (test images) against the training images.
    index = NeighbourIndex.from_store(store)
    train_pos, test = index.positions, np.flatnonzero(store.splits == 2)
    rng = np.random.default_rng(0)
    qs = np.asarray(store.features[rng.choice(test, 200, replace=False)])
    lat_exact = _latencies(lambda q: index.query(q[None], 5), qs)
    res["exact_ms"] = (_p(lat_exact, 50), _p(lat_exact, 95))
    from sklearn.neighbors import NearestNeighbors

    unit = index.unit
    with Stopwatch() as t:
        nn = NearestNeighbors(n_neighbors=5, algorithm="brute", metric="cosine").fit(unit)
    lat = _latencies(lambda q: nn.kneighbors(q[None]), qs)
    res["sklearn_ms"], res["sklearn_build_s"] = (_p(lat, 50), _p(lat, 95)), t.seconds
    try:
        import hnswlib

        with Stopwatch() as t:
            h = hnswlib.Index(space="cosine", dim=unit.shape[1])
            h.init_index(max_elements=len(unit), ef_construction=200, M=16)
            h.add_items(unit)
            h.set_ef(50)
        lat = _latencies(lambda q: h.knn_query(q[None], k=5), qs)
        exact_i, _ = index.query(qs, 5)
        got = np.asarray([h.knn_query(q[None], k=5)[0][0] for q in qs])
        recall = np.mean([len(set(train_pos[g]) & set(e)) / 5 for g, e in zip(got, exact_i)])
        res["hnsw_ms"], res["hnsw_build_s"], res["hnsw_recall"] = (_p(lat, 50), _p(lat, 95)), \
            t.seconds, float(recall)
    except ImportError:
        res["hnsw_ms"] = None

    # 5-NN vote on the test images against the model's own accuracy.
    with Stopwatch() as t:
        vote = knn_vote(index, store.labels, np.asarray(store.features[test]), 5)
    res["vote_s"] = t.seconds
    res["knn_acc"] = float((vote == store.labels[test]).mean())
    res["model_acc"] = float((store.predicted[test] == store.labels[test]).mean())

    # Planted label errors: 5% of a 10,000-image training subset relabelled at random.
    sub = rng.choice(train_pos, 10_000, replace=False)
    labels = store.labels[sub].copy()
    flip = rng.choice(len(sub), 500, replace=False)
    labels[flip] = (labels[flip] + rng.integers(1, 10, len(flip))) % 10
    sub_index = NeighbourIndex(np.asarray(store.features[np.sort(sub)]), np.sort(sub))
    order = np.argsort(sub)
    sorted_labels = labels[order]
    idx, _ = sub_index.query(np.asarray(store.features[sub]), 5, exclude=sub)
    pos_in_sub = np.searchsorted(np.sort(sub), idx)
    neigh = sorted_labels[pos_in_sub]
    other = (neigh != labels[:, None]).sum(axis=1) >= 3
    res["planted_flagged"] = float(other[flip].mean())
    clean = np.setdiff1d(np.arange(len(sub)), flip)
    res["clean_flagged"] = float(other[clean].mean())
    res["peak_rss_mb"] = peak_rss_mb()
    res["cpu_s"] = cpu_seconds()
    if umap_child:
        res["umap"] = _umap_in_child(run_dir)
    return res


def _umap_in_child(run_dir: str) -> dict:
    """The final map in a fresh process with an empty numba cache (the first map a person
    gets), then again in another fresh process with the cache filled."""
    import subprocess
    import tempfile

    out = {}
    cache = tempfile.mkdtemp(prefix="bench-numba-")
    for name in ("cold", "warm"):
        code = ("import json,time,resource,sys\n"
                "from training.embedmap.store import open_run_features\n"
                "from training.embedmap.projection import final_map\n"
                "from training.events import Events\n"
                "class P(Events):\n"
                "    n=0\n"
                "    def on_progress(self, d, t, w): P.n+=1\n"
                f"s=open_run_features({run_dir!r})\n"
                "t=time.perf_counter(); xy=final_map(s.features, P()); dt=time.perf_counter()-t\n"
                "u=resource.getrusage(resource.RUSAGE_SELF)\n"
                "print('@@'+json.dumps({'s':dt,'cpu_s':u.ru_utime+u.ru_stime,'rss_mb':u.ru_maxrss/1024,"
                "'progress_messages':P.n}))\n")
        env = {**os.environ, "NUMBA_CACHE_DIR": cache}
        t0 = time.perf_counter()
        proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env,
                              cwd=os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
        line = [x for x in proc.stdout.splitlines() if x.startswith("@@")]
        if not line:
            print(proc.stderr[-3000:], file=sys.stderr)
            continue
        out[name] = {**json.loads(line[-1][2:]), "process_s": time.perf_counter() - t0}
    return out


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("step", choices=("train", "core", "gui"))
    ap.add_argument("--run", required=True)
    ap.add_argument("--epochs", type=int, default=3)
    ap.add_argument("--no-umap", action="store_true")
    args = ap.parse_args()
    if args.step == "train":
        train_run(args.run, args.epochs)
        return 0
    print(machine_line())
    print(load_line())
    if args.step == "core":
        res = core(args.run, not args.no_umap)
        print(json.dumps(res, indent=1))
        rows = [["features of every image (Embedder → features.npy)", fmt(res["features_s"]),
                 fmt(res["features_cpu_s"])],
                ["PCA preview", fmt(res["pca_s"], 3), fmt(res["pca_cpu_s"], 3)]]
        for name, u in (res.get("umap") or {}).items():
            rows.append([f"UMAP final map ({name} numba cache)", fmt(u["s"]), fmt(u["cpu_s"])])
        print(table(["step", "wall s", "CPU s"], rows))
        return 0
    from bench.embedding_map_gui import gui

    gui(args.run)
    return 0


if __name__ == "__main__":
    sys.exit(main())
