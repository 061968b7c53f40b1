"""``python -m training next DATA --run RUN``: which unlabelled images to label next.

The run's model predicts the dataset's unlabelled images (loose images, or those of a
class deleted in the app: ``DatasetIndex.unlabelled``) and a strategy ranks them
(``training.active.strategies``): the output is the queue the app's "Label next" shows,
best first, each with the model's suggestion. As in the app (``training.active.queue``),
one item in 10 is a random check whose label the app holds back to estimate accuracy.
"""
from __future__ import annotations

import numpy as np

BATCH = 64


def add_parser(sub, dataset_options) -> None:
    from training.active.strategies import DEFAULT_STRATEGY, STRATEGIES

    p = sub.add_parser("next", help="which unlabelled images to label next (active learning)")
    p.add_argument("data", metavar="DATA")
    p.add_argument("--run", metavar="RUN_DIR", required=True,
                   help="a trained run: its model predicts the unlabelled images")
    p.add_argument("--count", type=int, default=20, help="how many images to suggest (default 20)")
    p.add_argument("--strategy", choices=list(STRATEGIES), default=DEFAULT_STRATEGY,
                   help="; ".join(f"{k}: {v}" for k, v in STRATEGIES.items())
                   + f" (default {DEFAULT_STRATEGY})")
    dataset_options(p)


def cmd_next(args, events, out):
    from training.active.queue import build_queue
    from training.cli.args import InputError, dataset_spec
    from training.data import open_dataset, open_images
    from training.data.index import DatasetIndex
    from training.features.embeddings import Embedder
    from training.inference.predict import Predictor

    if args.count < 1:
        raise InputError(f"--count must be at least 1. Received: {args.count}")
    index = open_dataset(dataset_spec(args, args.data), events)
    # The pool (training.data.pool): loose images, and those of a class deleted in the app;
    # images labelled in the app are index rows already.
    paths = list(getattr(index, "unlabelled", None) or [])
    if not paths:
        events.finish_line()
        print(f"No unlabelled images in {args.data}: every image has a class. Put images in the "
              "dataset folder, outside the class folders, to have them ranked.", file=out)
        return 0, {"items": []}
    predictor = Predictor(args.run)
    emb = Embedder(predictor.model, batch_size=BATCH)
    pool = DatasetIndex(root=index.root, kind=index.kind, classes=list(index.classes), paths=paths,
                        labels=np.zeros(len(paths), np.int32), splits=np.zeros(len(paths), np.uint8))
    with open_images(pool, predictor.input_size, predictor.color_mode, events) as data:
        found = emb.embed_batches(data.batches(np.arange(len(paths)), BATCH), len(paths), events,
                                  "predicting the unlabelled images")
    order, scores, checks = build_queue(args.strategy, found.probabilities, found.features,
                                        [paths[int(r)] for r in found.rows], args.count, args.seed)
    items = []
    for pos, score, check in zip(order, scores, checks):
        p = found.probabilities[pos]
        items.append({"path": paths[int(found.rows[pos])], "suggested": predictor.classes[int(np.argmax(p))],
                      "score": round(float(score), 6), "confidence": round(float(np.max(p)), 6),
                      "held_back": bool(check)})
    events.finish_line()
    print(f"{len(items)} of {len(found.rows):,} unlabelled images to label next ({args.strategy}):", file=out)
    for n, item in enumerate(items, 1):
        print(f"{n:4d}. {item['path']}  suggested: {item['suggested']} "
              f"({item['confidence']:.0%} sure, score {item['score']:.3f})"
              + ("  [random check: held back to estimate accuracy]" if item["held_back"] else ""), file=out)
    return 0, {"items": items}
