import numpy as np

from training.data import TEST, TRAIN, VALIDATION
from training.data.split import split_sizes, stratified_split


def _labels(counts):
    return np.concatenate([np.full(n, c) for c, n in enumerate(counts)])


def test_ratios_per_class():
    labels = _labels([100, 50, 30])
    splits, warnings = stratified_split(labels, ["a", "b", "c"], 0.1, 0.1, seed=1)
    assert warnings == []
    for c, n in enumerate([100, 50, 30]):
        s = splits[labels == c]
        assert (s == VALIDATION).sum() == round(n * 0.1)
        assert (s == TEST).sum() == round(n * 0.1)
        assert (s == TRAIN).sum() == n - 2 * round(n * 0.1)


def test_same_seed_same_split_other_seed_differs():
    labels = _labels([40, 40])
    a, _ = stratified_split(labels, ["a", "b"], 0.2, 0.2, seed=3)
    b, _ = stratified_split(labels, ["a", "b"], 0.2, 0.2, seed=3)
    c, _ = stratified_split(labels, ["a", "b"], 0.2, 0.2, seed=4)
    assert np.array_equal(a, b)
    assert not np.array_equal(a, c)


def test_every_class_in_train_and_rare_class_survives():
    labels = _labels([200, 3, 1, 2])
    splits, warnings = stratified_split(labels, ["big", "three", "one", "two"], 0.1, 0.1, seed=0)
    for c in range(4):
        assert np.any((labels == c) & (splits == TRAIN)), c
    # Three images: one per split; the 1- and 2-image classes stay whole in train, with a warning.
    assert sorted(splits[labels == 1].tolist()) == [TRAIN, VALIDATION, TEST]
    assert np.all(splits[labels == 2] == TRAIN) and np.all(splits[labels == 3] == TRAIN)
    assert len(warnings) == 2 and "'one'" in warnings[0] + warnings[1]


def test_split_sizes_keep_one_for_training():
    assert split_sizes(3, 0.45, 0.45) == (1, 1, 1)
    assert split_sizes(10, 0.0, 0.0) == (10, 0, 0)
    assert split_sizes(2, 0.5, 0.2) == (2, 0, 0)
    for n in range(3, 60):
        t, v, s = split_sizes(n, 0.3, 0.3)
        assert t >= 1 and t + v + s == n
