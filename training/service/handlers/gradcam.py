"""``gradcam``: the Grad-CAM heatmap of one image under a run's model."""
from __future__ import annotations

from training.service.models import MODELS
from training.service.registry import handler


@handler("gradcam")
def gradcam(request, run_dir: str, path: str, class_index: int | None = None, image=None) -> dict:
    """``image``: the uint8 pixels of an array dataset's sample (None: decode ``path``).

    Returns:
        ``{path, run_dir, requested, class_index, heatmap (h, w) float32, colored (h, w, 3)
        uint8, method, layer}``.
    """
    from training.data import decode_image, resize_to
    from training.inference.gradcam import GradCam, GradCamError, colorize

    request.on_status("Computing the heatmap…")
    warm = MODELS.get(run_dir)
    predictor = warm.predictor
    model = getattr(predictor, "model", None)
    if model is None or not hasattr(model, "layers"):
        raise GradCamError("Heatmaps need the run's Keras model; they are not available "
                           "for exported ONNX or TFLite files.")
    request.check_stop()
    size, mode = predictor.input_size, predictor.color_mode
    img = resize_to(image, size, mode) if image is not None else decode_image(path, size, mode)
    with warm.lock:   # one use of the model at a time; the explainer is built once per model
        cam = warm.extras.get("gradcam")
        if cam is None:
            cam = warm.extras["gradcam"] = GradCam(model)
        out = cam.explain(img, class_index)
    return {"path": path, "run_dir": run_dir, "requested": class_index,
            "class_index": out["class_index"], "heatmap": out["heatmap"],
            "colored": colorize(out["heatmap"]), "method": out["method"], "layer": out["layer"]}
