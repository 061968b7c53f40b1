"""``python -m training map`` (the embedding map as CSV) and ``similar`` ("more like this").

    python -m training map RUN --out map.csv [--preview] [--json]
    python -m training similar RUN PATH… --k 5 [--json]

Both compute the run's feature store first when it is missing or stale
(``training.embedmap.store``), with progress on stderr.
"""
from __future__ import annotations

import csv
import os

from training.cli.args import InputError


def add_parsers(sub) -> None:
    p = sub.add_parser("map", help="the 2-D map of a run's features (UMAP; PCA with --preview) "
                                   "as a CSV: path, split, label, predicted, x, y")
    p.add_argument("run_dir", metavar="RUN_DIR")
    p.add_argument("--out", metavar="CSV", required=True, help="the CSV file to write")
    p.add_argument("--preview", action="store_true", help="only the PCA preview (seconds)")
    p = sub.add_parser("similar", help="the k training images most similar to each image "
                                       "(the run's features, cosine distance)")
    p.add_argument("run_dir", metavar="RUN_DIR")
    p.add_argument("paths", metavar="PATH", nargs="+", help="image files or folders, or images "
                   "of the run's dataset (as the dataset names them)")
    p.add_argument("--k", type=int, default=5, help="neighbours per image (default 5)")


def _check_run(run_dir: str) -> str:
    """The run folder of ``run_dir`` (itself, or the run an exported model came from)."""
    from training.runs.runfolder import run_of

    if not os.path.exists(run_dir):
        raise InputError(f"Run folder not found. Received: {run_dir!r}")
    run = run_of(run_dir)
    if run is None:
        raise InputError(f"{run_dir} is not a run folder, nor a model exported into one (its "
                         "training images' features are stored with the run).")
    return str(run)


def cmd_map(args, events, out):
    from training.cli.args import stop_on_sigint
    from training.data.index import SPLIT_NAMES
    from training.embedmap.projection import ensure_map
    from training.embedmap.store import ensure_run_features
    from training.safefiles import atomic_write

    run_dir = _check_run(args.run_dir)
    with stop_on_sigint(events):
        store = ensure_run_features(run_dir, events=events)
        result = ensure_map(store, events, final=not args.preview)
    events.finish_line()
    xy = result["final"] if result["final"] is not None else result["preview"]
    classes = store.classes
    with atomic_write(args.out, newline="") as f:
        w = csv.writer(f)
        w.writerow(["path", "split", "label", "predicted", "x", "y"])
        for i in range(len(store)):
            w.writerow([store.paths[i], SPLIT_NAMES[int(store.splits[i])],
                        classes[int(store.labels[i])], classes[int(store.predicted[i])],
                        f"{xy[i, 0]:.6g}", f"{xy[i, 1]:.6g}"])
    print(f"Wrote {args.out}: {len(store):,} images, {result['method'].upper()} map", file=out)
    return 0, {"run_dir": run_dir, "out": os.path.abspath(args.out),
               "count": len(store), "method": result["method"], "classes": classes}


def cmd_similar(args, events, out):
    from training.cli.args import stop_on_sigint
    from training.features.embeddings import Embedder
    from training.embedmap.store import ensure_run_features
    from training.embedmap.similar import NeighbourIndex, similar_to_paths
    from training.inference.predict import Predictor, expand_paths

    run_dir = _check_run(args.run_dir)
    if args.k < 1:
        raise InputError(f"--k must be at least 1. Received: {args.k}")
    with stop_on_sigint(events):
        store = ensure_run_features(run_dir, events=events)
    events.finish_line()
    rows = store.row_of()
    paths = []
    for p in args.paths:   # a dataset's own name (an array dataset's "file#row") stays as is
        paths.extend([p] if p in rows or not os.path.exists(p) else expand_paths([p]))
    holder = {}

    def embed(x):
        if "emb" not in holder:
            holder["emb"] = Embedder(predictor.model)
        return holder["emb"].embed_batch(x)

    predictor = Predictor(run_dir) if any(p not in rows for p in paths) else None
    results = similar_to_paths(store, NeighbourIndex.from_store(store), paths, args.k, embed,
                               input_size=getattr(predictor, "input_size", None),
                               color_mode=getattr(predictor, "color_mode", "rgb"))
    for r in results:
        if r["error"]:
            print(f"{r['path']}: ERROR {r['error']}", file=out)
            continue
        print(f"{r['path']}:", file=out)
        for n in r["neighbours"]:
            print(f"  {n['distance']:.4f}  {n['label']}  {n['path']}", file=out)
    payload = [{"path": r["path"], "error": r["error"],
                "neighbours": [{k: n[k] for k in ("path", "label", "distance")}
                               for n in r["neighbours"]]} for r in results]
    ok = sum(1 for r in results if not r["error"])
    return (0 if ok else 2), {"run_dir": run_dir, "k": args.k,
                              "results": payload}


COMMANDS = {"map": cmd_map, "similar": cmd_similar}
