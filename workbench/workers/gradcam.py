"""Grad-CAM heatmaps for the image detail views, off the GUI thread.

The explainer of a run (``training.inference.gradcam.GradCam`` on the run's Keras model, loaded in
safe mode through the Classify panel's predictor cache) is built once per run and kept
in a one-entry cache; the widget gets plain numpy arrays only.
"""
from __future__ import annotations

import logging
import threading

from workbench.workers.base import Worker

log = logging.getLogger(__name__)

_lock = threading.Lock()
_cache: dict = {}   # {"predictor": Predictor, "cam": GradCam}


def get_gradcam(run_dir: str):
    """``(GradCam, classes, input size, colour mode)`` of ``run_dir``'s model."""
    from training.inference.gradcam import GradCam, GradCamError
    from workbench.workers.prediction import get_predictor

    predictor = get_predictor(run_dir)  # imports TensorFlow under the app's import lock
    model = getattr(predictor, "model", None)
    if model is None or not hasattr(model, "layers"):
        raise GradCamError("Heatmaps need the run's Keras model; they are not available "
                           "for exported ONNX or TFLite files.")
    with _lock:
        if _cache.get("predictor") is predictor:
            return _cache["cam"], predictor
        cam = GradCam(model)
        _cache.clear()
        _cache.update(predictor=predictor, cam=cam)
        return cam, predictor


class GradCamWorker(Worker):
    """One heatmap: ``finished({path, class_index, heatmap (h, w) float32, colored (h, w,
    3) uint8, method, layer, run_dir})``.

    Args:
        run_dir: the run whose model is explained.
        path: the image file, or ``"<file>#<row>"`` of an array dataset (``dataset``).
        class_index: the class to explain (None: the predicted one).
    """

    def __init__(self, run_dir: str, path: str, class_index: int | None = None, dataset=None):
        super().__init__()
        self.run_dir, self.path, self.class_index, self.dataset = run_dir, path, class_index, dataset

    def work(self) -> dict:
        from training.data import decode_image, resize_to
        from training.inference.gradcam import colorize
        from workbench.workers.gallery_images import ArrayLookup

        self.events.on_status("Computing the heatmap…")
        cam, predictor = get_gradcam(self.run_dir)
        self.events.check_stop()
        size, mode = predictor.input_size, predictor.color_mode
        arr = ArrayLookup(self.dataset).get(self.path)
        img = resize_to(arr, size, mode) if arr is not None else decode_image(self.path, size, mode)
        with _lock:  # one explanation at a time per model (Results and Classify share it)
            out = cam.explain(img, self.class_index)
        return {"path": self.path, "run_dir": self.run_dir, "requested": self.class_index,
                "class_index": out["class_index"], "heatmap": out["heatmap"],
                "colored": colorize(out["heatmap"]), "method": out["method"], "layer": out["layer"]}
