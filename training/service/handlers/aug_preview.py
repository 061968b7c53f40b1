"""``aug_preview``: a few images, each augmented several times by the spec's own
augmentation layer (what training applies)."""
from __future__ import annotations

import numpy as np

from training.service.registry import handler


@handler("aug_preview")
def aug_preview(request, images: list, augmentation: dict, input_size, color_mode: str,
                variants: int = 4, seed: int = 0) -> dict:
    """``images``: ``{"path", "image": uint8 array | None}`` each; without an array (file
    datasets) the service decodes the file at ``input_size``.

    Returns ``{"originals": [uint8 HxWxC], "variants": [[uint8 …] per original],
    "paths": [...], "errors": ["path: reason"]}``.
    """
    import keras

    from training.data import decode_image
    from training.data.decode import resize_array_images
    from training.models.augment import Augmentation

    size = tuple(int(v) for v in input_size)
    originals, paths, errors = [], [], []
    for item in images:
        request.check_stop()
        path, arr = str(item["path"]), item.get("image")
        try:
            if arr is not None:
                a = arr if arr.ndim == 3 else arr[:, :, None]
                originals.append(resize_array_images(a[None], size, color_mode)[0])
            else:
                originals.append(decode_image(path, size, color_mode))
        except (OSError, ValueError) as exc:   # a bad file only drops that image
            errors.append(f"{path}: {getattr(exc, 'reason', None) or exc}")
            continue
        paths.append(path)
    if not originals:
        return {"originals": [], "variants": [], "paths": [], "errors": errors}
    # Seeded so the same spec shows the same preview. This reseeds this process only:
    # trainings run in processes of their own.
    keras.utils.set_random_seed(int(seed))
    # test_time_flip is a prediction setting (training.models.tta): nothing to preview.
    layer = Augmentation(**{k: v for k, v in augmentation.items() if k != "test_time_flip"})
    batch = np.stack(originals).astype("float32")
    out_variants = [[] for _ in originals]
    for _ in range(int(variants)):
        request.check_stop()
        out = keras.ops.convert_to_numpy(layer(batch, training=True))
        for i, img in enumerate(np.clip(out, 0, 255).round().astype(np.uint8)):
            out_variants[i].append(img)
    return {"originals": originals, "variants": out_variants, "paths": paths, "errors": errors}

