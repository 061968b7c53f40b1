"""Array samples' pixels found by path: right for every row of a two-file IDX dataset,
and without a pass over every path (jobs build a lookup on the GUI thread)."""
import numpy as np

from tests.imagegen import make_idx_dataset
from workbench.workers.gallery_images import ArrayLookup


def test_every_sample_of_both_files_is_found_without_mapping_every_path(tmp_path):
    from training.data import open_dataset

    index = open_dataset(str(make_idx_dataset(tmp_path / "idx", n_train=40, n_test=20)))
    assert len({p.rpartition("#")[0] for p in index.paths}) == 2   # train and t10k files
    lookup = ArrayLookup(index)
    for i, path in enumerate(index.paths):
        assert lookup.row(path) == i
        assert np.array_equal(lookup.get(path), index.arrays[i])
    assert lookup._rows is None, "a lookup walked every path"
    assert lookup.get(str(tmp_path / "photo.png")) is None
    assert lookup.get(index.paths[0].rpartition("#")[0] + "#999") is None
    assert ArrayLookup(None).get(index.paths[0]) is None


def test_a_sample_out_of_its_files_order_is_still_found(tmp_path):
    from training.data import open_dataset

    index = open_dataset(str(make_idx_dataset(tmp_path / "idx", n_train=10, n_test=5)))
    order = list(range(len(index.paths)))
    order[1], order[2] = order[2], order[1]   # rows no longer in each file's order
    index.paths = [index.paths[i] for i in order]
    index.arrays = index.arrays[order]
    lookup = ArrayLookup(index)
    assert [lookup.row(p) for p in index.paths] == list(range(len(order)))
