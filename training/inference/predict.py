"""Prediction with a saved run: batched and single-image calls, CSV export.

Models are loaded by :meth:`training.runs.runfolder.RunFolder.load_model` (Keras safe mode:
a file that needs unsafe deserialisation is refused before any of its code can run).
"""
from __future__ import annotations

import csv
import os
from pathlib import Path

import numpy as np

from training.csvcells import escape_cell
from training.safefiles import atomic_write
from training.data.scan import is_image_name  # IMAGE_EXTS, the one extension list
from training.features.embeddings import Embedder
from training.events import Events
from training.features.modelcall import compiled_call, to_probabilities  # also imported from here by others
from training.runs.runfolder import RunFolder, load_model_file
from training.trust.rule import Trust



def predict_probabilities(model, x_uint8, batch_size: int = 64, events: Events | None = None,
                          what: str = "predicting", call=None) -> np.ndarray:
    """Probabilities (N, C) for uint8 images, in batches, checking for stop between batches."""
    events = events or Events()
    call = call or compiled_call(model)
    n = len(x_uint8)
    outs = []
    for start in range(0, n, batch_size):
        events.check_stop()
        batch = np.asarray(x_uint8[start:start + batch_size], dtype=np.float32)
        outs.append(to_probabilities(call(batch).numpy()))
        events.on_progress(min(start + batch_size, n), n, what)
    if not outs:
        out_dim = model.output_shape[-1]
        return np.zeros((0, 2 if out_dim == 1 else out_dim), dtype=np.float32)
    return np.concatenate(outs)


def expand_paths(paths) -> list[str]:
    """Files as given; folders expanded (recursively, sorted) to their image files."""
    out: list[str] = []
    for p in paths:
        p = Path(p)
        if p.is_dir():
            for dirpath, dirs, files in os.walk(p):
                dirs[:] = sorted(d for d in dirs if not d.startswith("."))
                for f in sorted(files):
                    if not f.startswith(".") and is_image_name(f):
                        out.append(os.path.join(dirpath, f))
        else:
            out.append(str(p))
    return out


def assessment_fields(assessed: dict, n: int) -> dict:
    """Image ``n`` of :meth:`Predictor.assess_batch`'s output as plain data: ``{unknown,
    unknown_reason, confidence (top calibrated probability), distance, appearance}``."""
    dist, look = assessed["distances"], assessed["appearance"]
    return {"unknown": bool(assessed["unknown"][n]), "unknown_reason": assessed["reasons"][n],
            "confidence": float(np.max(assessed["probabilities"][n])),
            "distance": None if dist is None else float(dist[n]),
            "appearance": None if look is None else float(look[n])}


class Predictor:
    """A saved run's model, ready to classify images.

    Args:
        run_dir: a run folder (or a ``.keras`` file, then classes come from the file's
            folder's ``classes.json`` if present, else ``class_0…``).
        which: ``"final"`` (the model the run ended with and evaluated, so the one its
            calibration and unknown rule were fitted on; falls back to best) or ``"best"``
            (the lowest-validation-loss checkpoint; falls back to final).

    Raises:
        RunError, UnsafeModelError: see :func:`training.runs.runfolder.load_model_file`.
    """

    def __init__(self, run_dir, which: str = "final"):
        path = Path(run_dir)
        if path.is_file():
            model_path, folder = path, RunFolder(path.parent)
        else:
            folder = RunFolder(path)
            model_path = folder.model_file(which)
        self.run_dir = str(folder.path)
        self.model_path = str(model_path)
        self.model = load_model_file(model_path)
        _, h, w, c = self.model.input_shape
        self.input_size = (int(h), int(w))
        self.color_mode = "grayscale" if c == 1 else "rgb"
        out_dim = self.model.output_shape[-1]
        n_classes = 2 if out_dim == 1 else int(out_dim)
        classes = folder.classes()
        if classes is None or len(classes) != n_classes:
            classes = [f"class_{i}" for i in range(n_classes)]
        self.classes = classes
        self._call = compiled_call(self.model)
        # Calibration and the unknown rule (training.trust.rule); absent for old runs, then the
        # probabilities are the model's own and nothing is ever "unknown".
        self.trust = Trust.load(folder)
        self.coverage: float | None = None  # None: the coverage stored with the rule
        try:
            self._embedder = (Embedder(self.model)
                              if self.trust.rule is not None else None)
        except ValueError:
            self._embedder = None

    def predict_array(self, image) -> np.ndarray:
        """Calibrated class probabilities for one uint8 image (H, W) or (H, W, C), resized
        if needed."""
        x = self._prepare(np.asarray(image))
        return self.trust.calibrate(self._run(x[None].astype(np.float32)))[0]

    def assess_batch(self, images_uint8) -> dict:
        """Calibrated probabilities, distances and unknown decisions for a batch of images
        already at the model's input size (see ``Trust.assess``)."""
        batch = np.asarray(images_uint8, dtype=np.float32)
        if self._embedder is not None:
            feats, raw = self._embedder.embed_batch(batch, with_probabilities=True)
        else:
            feats, raw = None, self._run(batch)
        return self.trust.assess(raw, feats, coverage=self.coverage, images=images_uint8)

    def predict_paths(self, paths, top_k: int = 3, events: Events | None = None,
                      batch_size: int = 32) -> list[dict]:
        """Classify image files (folders are expanded).

        Returns:
            One dict per file, in order: ``{path, top_k: [[class, p], …],
            probabilities: [p per class] | None, error: str | None, unknown: bool,
            unknown_reason: "low confidence" | "unlike the training data" | None,
            confidence, distance, appearance}`` (calibrated probabilities; ``distance``
            is the feature kNN distance and ``appearance`` the thumbnail distance to the
            training data, None without a rule). Unreadable files get
            ``error`` with the reason and no probabilities.
        """
        from training.data import DecodeError, decode_image

        events = events or Events()
        files = expand_paths(paths)
        k = max(1, min(int(top_k), len(self.classes)))
        results: list[dict] = [{"path": f, "top_k": [], "probabilities": None, "error": None,
                                "unknown": False, "unknown_reason": None, "confidence": None,
                                "distance": None, "appearance": None} for f in files]
        pending: list[tuple[int, np.ndarray]] = []

        def flush():
            if not pending:
                return
            out = self.assess_batch(np.stack([img for _, img in pending]))
            for n, ((i, _), p) in enumerate(zip(pending, out["probabilities"])):
                order = np.argsort(-p, kind="stable")[:k]
                results[i]["probabilities"] = [float(v) for v in p]
                results[i]["top_k"] = [[self.classes[j], float(p[j])] for j in order]
                results[i].update(assessment_fields(out, n))
            pending.clear()

        for i, f in enumerate(files):
            events.check_stop()
            try:
                img = decode_image(f, size=self.input_size, color_mode=self.color_mode)
            except DecodeError as exc:
                results[i]["error"] = str(exc)
            except OSError as exc:
                results[i]["error"] = f"cannot read file: {exc.strerror or exc}"
            else:
                pending.append((i, img))
                if len(pending) >= batch_size:
                    flush()
            events.on_progress(i + 1, len(files), "classifying")
        flush()
        return results

    def _run(self, batch: np.ndarray) -> np.ndarray:
        """(N, C) probabilities for a float32 NHWC batch (exported models override this)."""
        return to_probabilities(self._call(batch).numpy())

    def _prepare(self, img: np.ndarray) -> np.ndarray:
        """The image at the model's size and colour mode, exactly as training prepares a
        decoded file (``training.data.resize_to``: reduce + bilinear, then colour)."""
        from training.data.decode import resize_to

        return resize_to(img, self.input_size, self.color_mode)


def write_csv(results: list[dict], path, top_k: int | None = None) -> None:
    """Export ``predict_paths`` results: path, top-k class/probability pairs, unknown and
    its reason, error.

    Written as UTF-8 with a byte-order mark so spreadsheet programs show non-ASCII file
    names correctly; every text cell goes through :func:`escape_cell`.
    """
    k = top_k or max((len(r.get("top_k") or []) for r in results), default=1) or 1
    header = ["path"]
    for i in range(1, k + 1):
        header += [f"class_{i}", f"probability_{i}"]
    header += ["unknown", "unknown_reason", "error"]
    # Face detection ran (the app's "Detect faces"): one more column, the face count.
    faces = any(r.get("faces") is not None for r in results)
    if faces:
        header.append("faces")
    with atomic_write(path, encoding="utf-8-sig", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(header)
        for r in results:
            row = [escape_cell(r.get("path"))]
            pairs = list(r.get("top_k") or [])[:k]
            for i in range(k):
                if i < len(pairs):
                    row += [escape_cell(pairs[i][0]), f"{float(pairs[i][1]):.6f}"]
                else:
                    row += ["", ""]
            failed = bool(r.get("error"))
            row += ["" if failed else ("yes" if r.get("unknown") else "no"),
                    escape_cell(r.get("unknown_reason") or ""), escape_cell(r.get("error") or "")]
            if faces:
                found = r.get("faces")
                row.append("" if found is None else str(len(found)))
            writer.writerow(row)
