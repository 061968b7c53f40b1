"""summarize(): the model builder's live table. Same build path as build_model, but no
weight memory, no weight files, errors attached to the offending layer."""
import os
import time

import numpy as np
import pytest

from tests.training.models.helpers import small_mobilenet
from training.models import LayerSpec, build_model, summarize, template

SIZE = (16, 16)


def test_cnn_summary_matches_the_built_model():
    spec = template("cnn", input_size=SIZE, batch_norm=True)
    summary = summarize(spec, 5)
    model = build_model(spec, 5)
    assert summary["error"] is None
    assert summary["total_params"] == model.count_params()
    trainable = int(sum(np.prod(w.shape) for w in model.trainable_weights))
    assert summary["trainable_params"] == trainable
    assert summary["non_trainable_params"] == model.count_params() - trainable > 0  # BN stats
    rows = summary["rows"]
    assert [r["name"] for r in rows] == [l.name for l in model.layers]
    for row, layer in zip(rows[1:], model.layers[1:]):
        assert row["output_shape"] == tuple(layer.output.shape)
        assert row["params"] == layer.count_params()
        assert row["error"] is None
    assert [r["index"] for r in rows if r["role"] == "layer"] == list(range(len(spec.layers)))
    assert rows[0]["role"] == "input" and rows[-1]["role"] == "head"
    assert rows[-1]["output_shape"] == (None, 5)


def test_transfer_summary_never_reads_weight_files(keras_home):
    spec = small_mobilenet(weights="imagenet")  # no such file in this empty cache
    summary = summarize(spec, 3)
    assert summary["error"] is None
    backbone = [r for r in summary["rows"] if r["role"] == "backbone"][0]
    assert backbone["type"] == "Functional" and backbone["trainable"] is False
    assert backbone["output_shape"] == (None, 1280)
    assert summary["trainable_params"] == 1280 * 3 + 3
    assert summary["non_trainable_params"] == backbone["params"] > 100_000


@pytest.mark.parametrize("layers, index, pattern", [
    ([("Flatten", {}), ("Conv2D", {}), ("Dense", {})], 1, r"Layer 1 \(Conv2D\): needs an image"),
    ([("MaxPooling2D", {"pool_size": 8}), ("MaxPooling2D", {"pool_size": 3}), ("Flatten", {})],
     1, r"output would be 0x0 for input 2x2; Received: pool_size=3"),
    ([("Flatten", {}), ("Dense", {"units": -1})], 1, r"units must be between 1"),
    ([("Flatten", {}), ("Dropout", {"rate": 1.5})], 1, r"rate must be between"),
    ([("Flatten", {}), ("Dense", {"units": "many"})], 1, r"units must be an integer"),
    ([("Conv3D", {})], 0, r"unknown layer type 'Conv3D'"),
])
def test_invalid_layer_is_reported_on_its_row(layers, index, pattern):
    spec = template("cnn", input_size=SIZE)
    spec.layers = [LayerSpec(t, p) for t, p in layers]
    summary = summarize(spec, 3)
    assert summary["error"]["layer"] == index
    assert summary["total_params"] is None
    rows = {r["index"]: r for r in summary["rows"] if r["role"] == "layer"}
    assert sorted(rows) == list(range(len(layers)))  # every layer still listed
    import re
    assert re.search(pattern, rows[index]["error"])
    assert re.search(pattern, summary["error"]["message"])
    for i in range(index):
        assert rows[i]["output_shape"] is not None and rows[i]["error"] is None
    for i in range(index, len(layers)):
        assert rows[i]["output_shape"] is None


def test_spec_level_problem_has_no_layer():
    spec = small_mobilenet()
    spec.input_size = (16, 16)  # MobileNetV2 needs 32x32
    summary = summarize(spec, 2)
    assert summary["error"]["layer"] is None
    assert "at least 32x32; Received: input_size=(16, 16)" in summary["error"]["message"]


def _rss_mb():
    with open(f"/proc/{os.getpid()}/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20


@pytest.mark.skipif(not os.path.exists("/proc/self/statm"), reason="needs Linux /proc")
def test_repeated_summaries_are_cheap_and_do_not_grow_memory():
    from keras.src.backend.common import global_state

    # A Dense on a big Flatten: 75*75*64*512 = 184M weights (740 MB) if allocated.
    spec = template("cnn", input_size=(150, 150), color_mode="rgb", blocks=1, filters=64,
                    dense_units=512)
    first = summarize(spec, 10)
    assert first["total_params"] > 180_000_000
    for _ in range(3):
        summarize(spec, 10)
    before = _rss_mb()
    start = time.perf_counter()
    for units in range(20):
        spec.layers[-2].params["units"] = 500 + units  # the GUI edits, then re-summarises
        summarize(spec, 10)
    per_call = (time.perf_counter() - start) / 20
    growth = _rss_mb() - before
    assert growth < 40, f"RSS grew by {growth:.0f} MB over 20 summaries"
    assert per_call < 1.0, f"{per_call * 1000:.0f} ms per summary"
    assert not global_state.get_global_attribute("uninitialized_variables")
