"""``auto``: the Model panel's Auto choice (template, input size, augmentation, epochs)
from the dataset's images. No TensorFlow, but it fits small scikit-learn models on image
statistics (``training.recipe.flips``): here it keeps scipy, scikit-learn and pandas
(~150 MB) out of the window's process."""
from __future__ import annotations

from training.service.registry import handler


@handler("auto", tensorflow=False)
def auto(request, dataset: dict) -> dict:
    """``dataset``: a ``DatasetSpec`` dict. Returns ``AutoChoice.to_dict()``."""
    from training.data import DatasetSpec, open_dataset
    from training.recipe.auto import auto_choice

    request.on_status("Choosing a model from the data…")
    index = open_dataset(DatasetSpec.from_dict(dataset), request)
    request.check_stop()
    return auto_choice(index).to_dict()
