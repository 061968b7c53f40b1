"""``python -m training`` inspect, evaluate, predict and runs: the commands that read a
dataset or a saved run and print a report, and the dataset opening and bad-file listing
they share with ``train`` (``training.cli.train``).

Apart from ``training.cli.main``, which parses the command line and turns results and
errors into exit codes: these hold what each command prints.
"""
from __future__ import annotations

import os

from training.cli.args import InputError, dataset_spec, stop_on_sigint


def open_index(args, path, events):
    from training.data import open_dataset

    spec = dataset_spec(args, path)
    index = open_dataset(spec, events, dataset_labels=getattr(args, "dataset_labels", None))
    index.spec = spec  # lets train() record how to reopen the same split
    return index


def foreign_labels(index, out) -> dict | None:
    """Say what became of label fixes that came with the dataset (made elsewhere)."""
    from training.cli.labels import foreign_hint

    foreign = (getattr(index, "overlay", None) or {}).get("foreign")
    if foreign:
        print(f"note: {foreign_hint(foreign)}", file=out)
    return foreign


def cmd_inspect(args, events, out):
    from training.data.overlay_apply import foreign_message

    index = open_index(args, args.data, events)
    undecodable = []
    if not args.quick:
        # Indexing cannot see truncated, corrupt or empty files; decoding can. The decoded
        # images land in the cache, so a later train at the default size decodes nothing.
        from training.data import verify_images

        undecodable = verify_images(index, events)
    summary = index.summary()
    summary["counts"], summary["num_samples"] = usable_counts(index, undecodable)
    summary["image_stats"] = index.image_stats()
    summary["labelled"] = summary["num_samples"]
    print(f"{summary['root']} ({summary['kind']}): {summary['num_samples']:,} "
          f"{'labelled ' if summary['unlabelled'] else ''}images, "
          f"{len(summary['classes'])} classes"
          + (f"; {summary['unlabelled']:,} unlabelled images" if summary["unlabelled"] else ""),
          file=out)
    counts = summary["counts"]
    width = max([len(c) for c in summary["classes"]] + [len("(unlabelled)")] * bool(summary["unlabelled"]),
                default=5)
    print(f"  {'class'.ljust(width)}  {'train':>7} {'val':>7} {'test':>7}", file=out)
    for c in summary["classes"]:
        print(f"  {c.ljust(width)}  {counts['train'][c]:>7} {counts['validation'][c]:>7} "
              f"{counts['test'][c]:>7}", file=out)
    if summary["unlabelled"]:
        print(f"  {'(unlabelled)'.ljust(width)}  {summary['unlabelled']:>7}  not used for training: "
              "label them in the app or with: labels DATA --relabel PATH CLASS", file=out)
    st = summary["image_stats"]
    if st.get("sampled"):
        w, h = st["width"], st["height"]
        print(f"  image size (from {st['sampled']} sampled): width {w['min']}-{w['max']} "
              f"(median {w['median']}), height {h['min']}-{h['max']} (median {h['median']}); "
              f"modes {', '.join(f'{m}: {n}' for m, n in st.get('modes', {}).items())}",
              file=out)
    foreign = foreign_labels(index, out)
    summary["foreign_labels"] = foreign
    for w in summary["warnings"]:
        if not (foreign and w.startswith(foreign_message(foreign))):  # said above, with the flags
            print(f"warning: {w}", file=out)
    print_bad_files(summary["bad_files"], out)
    return 0, summary


def usable_counts(index, undecodable):
    """``index.counts()`` and the sample count without the files decoding found bad (the
    index still lists them; training leaves them out), so counts + bad files add up."""
    import numpy as np

    from training.data.index import SPLIT_NAMES

    if not undecodable:
        return index.counts(), len(index)
    # Only decode failures: other reports (a CSV's duplicate row) name files still used.
    bad = {b.path for b in undecodable}
    keep = np.fromiter((p not in bad for p in index.paths), bool, len(index.paths))
    labels, splits = index.labels[keep], index.splits[keep]
    counts = {name: {c: int(n) for c, n in zip(index.classes, np.bincount(
        labels[splits == s], minlength=len(index.classes)))} for s, name in enumerate(SPLIT_NAMES)}
    return counts, int(keep.sum())


def print_bad_files(bad_files, out):
    if bad_files:
        print(f"{len(bad_files)} file(s) skipped:", file=out)
        for b in bad_files:
            print(f"  {b['path']}: {b['reason']}", file=out)



def cmd_evaluate(args, events, out):
    from training.inference.evaluate import evaluate

    if not os.path.isdir(args.run_dir):
        raise InputError(f"Run folder not found. Received: {args.run_dir!r}")
    dataset = open_index(args, args.data, events) if args.data else None
    with stop_on_sigint(events):
        result = evaluate(args.run_dir, dataset, events=events, which=args.which)
    events.finish_line()
    print(f"{result['split']} accuracy {result['accuracy']:.4f}, loss {result['loss']:.4f} "
          f"on {result['num_samples']:,} images", file=out)
    _print_report(result, out)
    print_bad_files(result.get("bad_files") or [], out)
    _print_trust(result, out)
    keys = ("run_dir", "split", "num_samples", "test_accuracy", "test_loss", "classes",
            "confusion_matrix", "per_class", "macro_avg", "weighted_avg", "warnings", "bad_files",
            "balanced_accuracy", "calibration", "unknown", "pr_curves")
    return 0, {k: result.get(k) for k in keys}


def _print_report(result, out):
    width = max(len(c) for c in result["classes"])
    print(f"  {'class'.ljust(width)}  precision  recall     f1  support", file=out)
    for row in result["per_class"]:
        print(f"  {row['class'].ljust(width)}  {row['precision']:9.3f} {row['recall']:7.3f} "
              f"{row['f1']:6.3f} {row['support']:8d}", file=out)
    print("confusion matrix (rows: true, columns: predicted):", file=out)
    for c, row in zip(result["classes"], result["confusion_matrix"]):
        print(f"  {c.ljust(width)}  " + " ".join(f"{v:5d}" for v in row), file=out)


def _print_trust(result, out):
    if result.get("balanced_accuracy") is not None:
        print(f"balanced accuracy {result['balanced_accuracy']:.4f}", file=out)
    cal = result.get("calibration")
    if cal and cal.get("ece_before") is not None:
        print(f"calibration: temperature {cal['temperature']:.3f}, ECE {cal['ece_before']:.4f} "
              f"-> {cal['ece_after']:.4f}", file=out)
    unk = result.get("unknown")
    if unk:
        print(f"unknown: {unk['unknown_rate']:.1%} of {unk['num_samples']} images "
              f"({', '.join(f'{n} {r}' for r, n in sorted(unk['by_reason'].items())) or 'none'})",
              file=out)


def cmd_predict(args, events, out):
    from training.export.predictor import open_predictor
    from training.inference.predict import write_csv

    if args.top_k < 1:
        raise InputError(f"--top-k must be at least 1. Received: {args.top_k}")
    if args.coverage is not None and not 0.0 < args.coverage <= 1.0:
        raise InputError(f"--coverage must be more than 0 and at most 1. Received: {args.coverage}")
    predictor = open_predictor(args.run_dir, which=args.which)
    predictor.coverage = args.coverage
    with stop_on_sigint(events):
        results = predictor.predict_paths(args.paths, top_k=args.top_k, events=events)
    events.finish_line()
    for r in results:
        if r["error"]:
            print(f"{r['path']}: ERROR {r['error']}", file=out)
        else:
            verdict = f"unknown ({r['unknown_reason']}); " if r.get("unknown") else ""
            print(f"{r['path']}: {verdict}" + ", ".join(f"{c} {p:.3f}" for c, p in r["top_k"]),
                  file=out)
    if args.csv:
        write_csv(results, args.csv, top_k=args.top_k)
        print(f"Wrote {args.csv}", file=out)
    ok = sum(1 for r in results if not r["error"])
    if results and not ok:
        events.on_status("error: no image could be classified")
    payload = {"run_dir": os.path.abspath(args.run_dir), "classes": list(predictor.classes),
               "predictions": [{k: r.get(k) for k in ("path", "top_k", "unknown", "unknown_reason",
                                                     "confidence", "distance", "error")}
                               for r in results],
               "num_classified": ok, "num_failed": len(results) - ok,
               "unknown_rule": predictor.trust.summary() if predictor.trust.rule else None}
    return (0 if ok else 2), payload


def cmd_runs(args, events, out):
    from training.runs.manage import list_runs_labelled as list_runs
    from training.runs.listing import compare_table
    from training.runs.runfolder import default_runs_root

    root = args.dir or str(default_runs_root())
    if args.dir and not os.path.isdir(args.dir):
        raise InputError(f"Runs folder not found. Received: {args.dir!r}")
    rows = list_runs(root)
    if rows:
        for line in compare_table(rows):
            print(line, file=out)
    else:
        print(f"No runs in {root}", file=out)
    return 0, {"root": root, "runs": rows}

