"""Issue 5's hostile corpus through the data layer: every bad item reported once with its
file and reason, every good image used, nothing on disk modified."""
import collections
import os

import numpy as np
import pytest

from tests.hostile import make_hostile_corpus
from tests.imagegen import snapshot_tree
from training.data import TRAIN, decode_image, open_dataset, suggest_input, verify_images
from tests.decoded import load_arrays


@pytest.fixture(scope="module")
def corpus(tmp_path_factory):
    return make_hostile_corpus(tmp_path_factory.mktemp("hostile"))


def _check_reports(bad_files, expected):
    counts = collections.Counter(b.path for b in bad_files)
    assert {p: n for p, n in counts.items() if n > 1} == {}, "reported more than once"
    reasons = {b.path: b.reason for b in bad_files}
    assert set(reasons) == set(expected)
    for path, word in expected.items():
        assert word.lower() in reasons[path].lower(), (path, reasons[path])


def test_folder_corpus(corpus, cache_env):
    before = snapshot_tree(corpus["root"])
    index = open_dataset(corpus["folder"])
    assert index.classes == corpus["classes"]
    _check_reports(index.bad_files, corpus["bad_index"])
    assert any(corpus["small_class"] in w for w in index.warnings)
    size, mode = suggest_input(index)
    data = load_arrays(index, (16, 16), "rgb")
    _check_reports(index.bad_files, corpus["bad"])
    used = sorted(index.paths[r] for r in data.rows)
    assert used == corpus["good"]
    assert np.all(data.splits[data.y == index.classes.index(corpus["small_class"])] == TRAIN)
    # Again, from the cache: same images, still one report per bad file.
    again = load_arrays(index, (16, 16), "rgb")
    assert again.cache_hit and np.array_equal(again.x, data.x)
    _check_reports(index.bad_files, corpus["bad"])
    assert snapshot_tree(corpus["root"]) == before
    assert (size, mode) == ((16, 16), "rgb")


def test_every_good_file_decodes_and_every_decode_failure_names_a_reason(corpus):
    for path in corpus["good"]:
        out = decode_image(path, (16, 16))
        assert out.shape == (16, 16, 3), path
    upright = decode_image(corpus["exif"])
    assert upright.shape == (20, 10, 3) and upright[:8].mean() < upright[12:].mean()


def test_csv_corpus(corpus, cache_env):
    before = snapshot_tree(corpus["root"])
    index = open_dataset(corpus["csv"])
    _check_reports(index.bad_files, corpus["csv_bad"])
    data = load_arrays(index, 16, "rgb")
    assert sorted(index.paths[r] for r in data.rows) == corpus["csv_good"]
    first = os.path.join(os.path.dirname(corpus["csv"]), "train", "img0001.jpg")
    assert index.labels[index.paths.index(first)] == index.classes.index("1")  # the first row wins
    assert snapshot_tree(corpus["root"]) == before


def test_idx_corpus(corpus, cache_env):
    index = open_dataset(corpus["idx"])
    _check_reports(index.bad_files, corpus["idx_bad"])
    assert len(index) == corpus["idx_count"]
    assert load_arrays(index, 8, "grayscale").x.shape == (corpus["idx_count"], 8, 8, 1)


def test_verify_images_finds_what_indexing_cannot(corpus, cache_env, monkeypatch):
    index = open_dataset(corpus["folder"])
    found = verify_images(index)
    assert {b.path for b in found} == set(corpus["bad_decode"])
    _check_reports(index.bad_files, corpus["bad"])
    assert verify_images(index) == []  # already reported: nothing new, nothing twice
    # Training at the suggested size afterwards is served from the cache.
    size, mode = suggest_input(index)
    assert load_arrays(index, size, mode).cache_hit
