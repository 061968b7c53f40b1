"""ModelSpec JSON, validation messages, LAYER_TYPES and templates (no TensorFlow needed)."""
import json
import subprocess
import sys

import pytest

from training.models import (BACKBONES, LAYER_TYPES, SCHEMA_VERSION, TEMPLATES,
                             AugmentationSpec, BackboneSpec, LayerSpec, ModelSpec, SpecError,
                             backbone_weights_file, template)


def test_import_does_not_load_tensorflow():
    code = ("import sys, training.models as m; m.template('cnn').to_json(); "
            "sys.exit(int('tensorflow' in sys.modules or 'keras' in sys.modules))")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr


@pytest.mark.parametrize("name", list(TEMPLATES))
def test_every_template_round_trips_through_json(name, tmp_path):
    spec = template(name)
    spec.validate()
    path = tmp_path / f"{name}.json"
    spec.save(path)
    again = ModelSpec.load(path)
    assert again == spec
    assert json.loads(path.read_text())["schema_version"] == SCHEMA_VERSION


def test_round_trip_keeps_every_field():
    spec = ModelSpec(name="my net", template="transfer", input_size=(40, 48), color_mode="grayscale",
                     augmentation=AugmentationSpec("horizontal", 0.1, 0.2, 0.3, 0.05),
                     backbone=BackboneSpec("mobilenet_v2", weights="/tmp/w.weights.h5",
                                           trainable=True, pooling="max", fine_tune_from=100,
                                           alpha=0.35),
                     layers=[LayerSpec("Dense", {"units": 7}), LayerSpec("Dropout", {"rate": 0.3})])
    again = ModelSpec.from_dict(json.loads(json.dumps(spec.to_dict())))
    assert again == spec
    assert again.input_size == (40, 48) and again.augmentation.enabled


def test_templates_match_the_seeds():
    mlp = template("mlp")
    assert [l.type for l in mlp.layers] == ["Flatten", "Dense"]
    assert mlp.layers[1].params["units"] == 128 and mlp.input_size == (28, 28)
    assert [l.type for l in template("mlp", dropout=0.2).layers] == ["Flatten", "Dense", "Dropout"]
    cnn = template("cnn", input_size=(64, 64), color_mode="rgb", blocks=3, batch_norm=True)
    convs = [l.params["filters"] for l in cnn.layers if l.type == "Conv2D"]
    assert convs == [32, 64, 128]
    assert [l.type for l in cnn.layers].count("MaxPooling2D") == 3
    assert "BatchNormalization" in [l.type for l in cnn.layers]
    assert cnn.color_mode == "rgb" and cnn.backbone is None
    for name in BACKBONES:
        spec = template(name)
        assert spec.template == "transfer" and spec.backbone.name == name
        assert spec.backbone.weights == "imagenet" and not spec.backbone.trainable
        assert spec.color_mode == "rgb" and spec.layers == [LayerSpec("Dropout", {"rate": 0.2})]
    assert template("mobilenet_v2").input_size == (96, 96)
    assert template("resnet50").input_size == (224, 224)


def test_template_rejects_unknown_names_and_options():
    with pytest.raises(SpecError, match="Unknown template.*'vgg'"):
        template("vgg")
    with pytest.raises(SpecError, match="unknown option 'blocs'"):
        template("cnn", blocs=3)


def test_layer_types_schema_is_complete_for_forms():
    assert set(LAYER_TYPES) == {"Conv2D", "MaxPooling2D", "AveragePooling2D",
                                "BatchNormalization", "Dropout", "Flatten",
                                "GlobalAveragePooling2D", "Dense"}
    for type_name, params in LAYER_TYPES.items():
        for name, info in params.items():
            assert info["type"] in (int, float, str, bool), (type_name, name)
            assert isinstance(info["default"], info["type"])
            assert info["help"]
            if "choices" in info:
                assert info["default"] in info["choices"]
    assert LAYER_TYPES["Conv2D"]["padding"]["choices"] == ["same", "valid"]


def _base():
    return template("cnn", batch_norm=False).to_dict()  # fixed layer indices below


@pytest.mark.parametrize("mutate, pattern", [
    (lambda d: d.update(schema_version=99), r"newer version.*schema_version 99"),
    (lambda d: d.pop("schema_version"), r"no valid schema_version"),
    (lambda d: d.pop("layers"), r"missing key 'layers'"),
    (lambda d: d.update(colour="rgb"), r"unknown key 'colour'"),
    (lambda d: d.update(input_size="28x28"), r"input_size must be \[height, width\].*'28x28'"),
    (lambda d: d.update(name=5), r"name must be a string.*name=5"),
    (lambda d: d["layers"].append({"type": "Conv3D", "params": {}}),
     r"Layer 7: unknown layer type 'Conv3D'"),
    (lambda d: d["layers"][5]["params"].update(unit=10),
     r"Layer 5 \(Dense\): unknown parameter 'unit'.*unit=10"),
    (lambda d: d["layers"][0]["params"].update(filters="32"),
     r"Layer 0 \(Conv2D\): filters must be an integer.*filters='32' \(str\)"),
    (lambda d: d["layers"][5]["params"].update(units=True),
     r"Layer 5 \(Dense\): units must be an integer.*True"),
    (lambda d: d["layers"].__setitem__(1, "MaxPooling2D"), r"Layer 1: must be an object"),
    (lambda d: d["augmentation"].update(flip=True), r"augmentation: flip has the wrong type"),
    (lambda d: d.update(backbone={"weights": "imagenet"}), r"backbone: missing key 'name'"),
    (lambda d: d.update(backbone={"name": "resnet50", "trainable": "yes"}),
     r"backbone: trainable has the wrong type.*'yes'"),
])
def test_from_dict_rejects_bad_specs_with_a_clear_message(mutate, pattern):
    data = _base()
    mutate(data)
    with pytest.raises(SpecError, match=pattern):
        ModelSpec.from_dict(data)


def test_from_dict_names_the_layer_index():
    data = _base()
    data["layers"][2]["params"]["kernel_size"] = 2.5
    with pytest.raises(SpecError) as info:
        ModelSpec.from_dict(data)
    assert info.value.layer == 2


def test_load_reports_truncated_and_non_object_json(tmp_path):
    path = tmp_path / "spec.json"
    text = template("mlp").to_json()
    path.write_text(text[: len(text) // 2])
    with pytest.raises(SpecError, match=r"spec\.json is not valid JSON \(truncated"):
        ModelSpec.load(path)
    path.write_text("[1, 2]")
    with pytest.raises(SpecError, match="must be a JSON object; Received: list"):
        ModelSpec.load(path)
    with pytest.raises(SpecError, match="Can't read the model spec"):
        ModelSpec.load(tmp_path / "missing.json")


def test_out_of_range_values_load_but_fail_validation():
    data = _base()
    data["layers"][6]["params"]["rate"] = 1.5  # the Dropout
    spec = ModelSpec.from_dict(data)  # the builder can still open it...
    with pytest.raises(SpecError, match=r"Layer 6 \(Dropout\): rate must be between 0.0 and 0.99; "
                                        r"Received: rate=1.5") as info:
        spec.validate()  # ...and show the error next to layer 6
    assert info.value.layer == 6


@pytest.mark.parametrize("change, pattern", [
    (dict(input_size=(0, 28)), "input_size must be"),
    (dict(color_mode="cmyk"), "color_mode must be"),
    (dict(template="transfer"), "needs a backbone"),
    (dict(augmentation=AugmentationSpec(rotation=2.0)), "rotation must be a fraction.*2.0"),
    (dict(backbone=BackboneSpec("vgg16")), "unknown backbone.*'vgg16'"),
    (dict(backbone=BackboneSpec("resnet50", alpha=0.5)), "alpha applies to mobilenet_v2 only"),
    (dict(backbone=BackboneSpec("mobilenet_v2", alpha=0.6)), "ImageNet weights exist for alpha"),
    (dict(backbone=BackboneSpec("mobilenet_v2", pooling="min")), "pooling must be"),
    (dict(backbone=BackboneSpec("mobilenet_v2", fine_tune_from=-3)), "fine_tune_from must be"),
])
def test_validate_rejects_bad_fields(change, pattern):
    spec = template("cnn")
    for key, value in change.items():
        setattr(spec, key, value)
    with pytest.raises(SpecError, match=pattern) as info:
        spec.validate()
    assert info.value.layer is None


def test_spec_error_accepts_the_documented_constructor():
    err = SpecError(3, "Layer 3 (Dense): bad")
    assert err.layer == 3 and str(err) == "Layer 3 (Dense): bad" and isinstance(err, ValueError)
    assert SpecError("plain").layer is None


def test_backbone_weights_file_names_match_keras_applications():
    assert (backbone_weights_file("mobilenet_v2", (96, 96)) ==
            "mobilenet_v2_weights_tf_dim_ordering_tf_kernels_1.0_96_no_top.h5")
    # Like Keras, odd sizes fall back to the 224 file.
    assert (backbone_weights_file("mobilenet_v2", (32, 32), alpha=0.35) ==
            "mobilenet_v2_weights_tf_dim_ordering_tf_kernels_0.35_224_no_top.h5")
    assert backbone_weights_file("efficientnet_b0", (224, 224)) == "efficientnetb0_notop.h5"
    assert (backbone_weights_file("resnet50", (224, 224)) ==
            "resnet50_weights_tf_dim_ordering_tf_kernels_notop.h5")
