"""Model specs and building: what the model builder edits and what training runs.

Importing this package does not import TensorFlow; the functions that build models do.
"""
from training.models.backbones import (BACKBONES, backbone_layer_count,
                                       backbone_weights_file, find_cached_weights,
                                       imagenet_weights_path, keras_cache_dir,
                                       set_trainable_for_fine_tune)
from training.models.build import (ModelParts, build_model, build_parts, can_precompute_features,
                                   head_units)
from training.models.errors import SpecError
from training.models.layers import LAYER_TYPES
from training.models.spec import (SCHEMA_VERSION, AugmentationSpec, BackboneSpec, LayerSpec,
                                  ModelSpec)
from training.models.summary import summarize
from training.models.templates import TEMPLATES, template



def load_model(path, compile: bool = True):
    """Loads a ``.keras`` model made by ``build_model`` with ``safe_mode=True`` (and our
    registered Augmentation layer available). See :mod:`training.models.augment`."""
    from training.models.augment import load_model as _load

    return _load(path, compile=compile)


__all__ = [
    "BACKBONES", "LAYER_TYPES", "SCHEMA_VERSION", "TEMPLATES", "AugmentationSpec",
    "BackboneSpec", "LayerSpec", "ModelParts", "ModelSpec", "SpecError",
    "backbone_layer_count", "backbone_weights_file", "build_model", "build_parts",
    "can_precompute_features",
    "find_cached_weights", "head_units", "imagenet_weights_path", "keras_cache_dir", "load_model",
    "set_trainable_for_fine_tune", "summarize", "template",
]
