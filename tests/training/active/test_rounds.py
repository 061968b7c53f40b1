"""One real round (real Keras training) on tiny synthetic images."""
import numpy as np
import pytest

from tests.imagegen import class_image
from training.active.fastmodel import epochs_for, fast_spec
from training.active.queue import CHECK_EVERY
from training.active.rounds import NotReady, array_reader, run_round
from tests.training.trainutil import Recorder
from training.events import Events, Stopped


def _pool(per_class_labelled=8, pool_per_class=30, classes=3, seed=0):
    rng = np.random.default_rng(seed)
    x, truth = [], []
    for c in range(classes):
        for _ in range(per_class_labelled + pool_per_class):
            x.append(class_image(c, 16, rng))
            truth.append(c)
    x, truth = np.stack(x), np.array(truth)
    labels = np.full(len(x), -1)
    for c in range(classes):
        rows = np.flatnonzero(truth == c)[:per_class_labelled]
        labels[rows] = c
    return x, truth, labels


def test_a_round_trains_ranks_the_pool_and_estimates_accuracy():
    x, truth, labels = _pool()
    keys = [f"img_{i}.png" for i in range(len(x))]
    spec = fast_spec((16, 16), "rgb")
    assert spec.template == "cnn" and spec.input_size == (16, 16)
    ev = Recorder()
    res = run_round(array_reader(x), labels, keys, ["a", "b", "c"], spec, "badge", count=12,
                    seed=1, share=0.25, events=ev)
    assert res.labels == 24 and res.trained_on + res.held_back == 24 and res.held_back > 0
    assert res.pool == 90 and len(res.positions) == 12
    assert set(res.positions.tolist()) <= set(np.flatnonzero(labels < 0).tolist())
    assert 0.0 <= res.accuracy <= 1.0
    # The model learned something: its suggestions for the whole pool beat chance.
    pool_acc = np.mean(res.pool_probabilities.argmax(axis=1) == truth[res.pool_rows])
    assert pool_acc > 0.6, pool_acc
    items = res.items(keys, ["a", "b", "c"])
    assert set(items[0]) == {"path", "suggested", "score", "confidence", "held_back"}
    # One of the first CHECK_EVERY is a random check (training.active.queue): labelled, it is held back.
    assert [i["held_back"] for i in items[:CHECK_EVERY]].count(True) == 1 and res.checks[:CHECK_EVERY].sum() == 1
    assert res.point() == {"labels": 24, "trained_on": res.trained_on, "held_back": res.held_back,
                           "accuracy": res.accuracy}
    assert any(w == "training the suggestion model" for _, _, w in ev.progress)
    assert any(w == "ranking the unlabelled images" for _, _, w in ev.progress)
    assert res.seconds["train"] > 0 and res.seconds["rank"] > 0
    labels[res.positions[:CHECK_EVERY]] = truth[res.positions[:CHECK_EVERY]]
    nxt = run_round(array_reader(x), labels, keys, ["a", "b", "c"], spec, "badge", count=5, seed=1,
                    share=0.25)
    assert (nxt.labels, nxt.held_back, nxt.trained_on) == (24 + CHECK_EVERY, res.held_back + 1,
                                                           res.trained_on + CHECK_EVERY - 1)
    assert not res.flips and res.mirror.safe is None   # under MIN_IMAGES labels: undecided, no flips


def _halves(mirror_safe: bool, per_class=45, pool=10, seed=0):
    """Two classes of noisy 16x16 images: a bright left or right half (a mirror image changes
    the class), or a bright vertical or horizontal bar (it does not)."""
    rng = np.random.default_rng(seed)
    x, truth = [], []
    for c in (0, 1):
        for _ in range(per_class + pool):
            im = rng.integers(0, 60, (16, 16, 3)).astype(np.int16)
            if mirror_safe:
                im[6:10, :] += 150 if c == 0 else 0
                im[:, 6:10] += 150 if c == 1 else 0
            else:
                im[:, :8] += 150 if c == 0 else 0
                im[:, 8:] += 150 if c == 1 else 0
            x.append(np.clip(im, 0, 255).astype(np.uint8))
            truth.append(c)
    x, truth = np.stack(x), np.array(truth)
    labels = np.where(np.arange(len(x)) % (per_class + pool) < per_class, truth, -1)
    return x, labels


@pytest.mark.parametrize("mirror_safe", [True, False])
def test_the_small_cnn_trains_with_flips_only_when_a_mirror_image_keeps_its_class(mirror_safe):
    """Flips helped the small CNN on Fashion-MNIST (docs/BENCHMARKS.md, "Active learning",
    fourth pass) but would teach it that left and right are the same: the round's labelled
    images decide (training.recipe.flips)."""
    x, labels = _halves(mirror_safe)
    keys = [f"img_{i}.png" for i in range(len(x))]
    res = run_round(array_reader(x), labels, keys, ["a", "b"], fast_spec((16, 16), "rgb"), "badge",
                    count=5, share=0.0)
    assert res.trained_on == 90 and res.mirror.safe is mirror_safe
    assert res.flips is mirror_safe


def test_a_round_waits_for_a_few_labels_of_every_class():
    x, _, labels = _pool(per_class_labelled=2)
    with pytest.raises(NotReady, match=r"Label 9 more images"):
        run_round(array_reader(x), labels, list(map(str, range(len(x)))), ["a", "b", "c"],
                  fast_spec((16, 16), "rgb"))
    with pytest.raises(NotReady, match=r"at least two classes"):
        run_round(array_reader(x), np.where(labels == 0, 0, -1), list(map(str, range(len(x)))), ["a"],
                  fast_spec((16, 16), "rgb"))


def test_a_stop_request_ends_the_round():
    class Stop(Events):
        def should_stop(self):
            return True

    x, _, labels = _pool()
    with pytest.raises(Stopped):
        run_round(array_reader(x), labels, list(map(str, range(len(x)))), ["a", "b", "c"],
                  fast_spec((16, 16), "rgb"), events=Stop())


def test_epochs_keep_a_round_short_whatever_the_label_count():
    assert epochs_for(30) == 60 and epochs_for(1000) == 15 and epochs_for(100_000) == 6
    assert fast_spec((224, 300), "rgb").input_size == (48, 64)


def test_a_frozen_backbone_round_computes_each_image_s_features_once():
    """Where ImageNet weights are cached the round trains a head on a frozen backbone's
    features; random weights stand in for them here (nothing is downloaded)."""
    from training.active.fastmodel import BackboneFeatures
    from training.models import can_precompute_features, template

    x, truth, labels = _pool(per_class_labelled=8, pool_per_class=10)
    x = np.repeat(np.repeat(x, 2, axis=1), 2, axis=2)        # 32x32: MobileNetV2's smallest
    spec = template("mobilenet_v2", (32, 32), "rgb", weights="random", alpha=0.35)
    assert can_precompute_features(spec)
    reads = []

    def read(rows):
        reads.extend(np.asarray(rows).tolist())
        return x[np.asarray(rows)], np.asarray(rows)

    keys = [f"img_{i}.png" for i in range(len(x))]
    first = run_round(read, labels, keys, ["a", "b", "c"], spec, "diverse", count=5, share=0.2)
    assert isinstance(first.backbone_cache, BackboneFeatures) and len(first.positions) == 5
    assert sorted(reads) == list(range(len(x)))              # every image read once
    labels[first.positions] = truth[first.positions]
    reads.clear()
    second = run_round(read, labels, keys, ["a", "b", "c"], spec, "uncertainty", count=5,
                       share=0.2, backbone_cache=first.backbone_cache)
    assert reads == [] and second.labels == first.labels + 5  # features came from the cache
    assert set(second.positions.tolist()).isdisjoint(first.positions.tolist())


def test_the_ranking_averages_a_snapshot_of_the_weights_with_the_final_ones(monkeypatch):
    """A checkpoint ensemble for the ranking (fastmodel.RANKING_SNAPSHOTS): the weights kept
    half way through the round's schedule and the final ones each give probabilities, the
    ranking uses their mean; keeping the weights must not change the training."""
    from training.active import fastmodel

    x, _, labels = _pool()
    keys = [f"img_{i}.png" for i in range(len(x))]
    read, spec = array_reader(x), fast_spec((16, 16), "rgb")
    monkeypatch.setattr(fastmodel, "RANKING_SNAPSHOTS", ())
    plain = run_round(read, labels, keys, ["a", "b", "c"], spec, "badge", count=12, seed=3, share=0.25)
    assert plain.model.snapshots == []
    monkeypatch.setattr(fastmodel, "RANKING_SNAPSHOTS", (0.5,))
    res = run_round(read, labels, keys, ["a", "b", "c"], spec, "badge", count=12, seed=3, share=0.25)
    assert len(res.model.snapshots) == 1
    _, final, rows = res.model.predict(read, res.pool_rows)
    _, before, _ = plain.model.predict(read, plain.pool_rows)
    np.testing.assert_allclose(final, before, atol=1e-5)    # same training, same final weights
    np.testing.assert_allclose(plain.ranking_probabilities, plain.pool_probabilities)   # no snapshot
    fitted = res.model.parts.model
    kept = fitted.get_weights()
    fitted.set_weights(res.model.snapshots[0])
    _, half, _ = res.model.predict(read, rows)
    fitted.set_weights(kept)
    assert np.abs(half - final).max() > 1e-3                 # half way is another model
    np.testing.assert_allclose(res.ranking_probabilities, (final + half) / 2, atol=1e-5)
    # The guesses shown stay the final weights' (the held-back estimate measures those), and
    # averaging for the ranking puts the final weights back.
    np.testing.assert_allclose(res.pool_probabilities, final, atol=1e-5)
    np.testing.assert_allclose(res.model.predict(read, rows)[1], final, atol=1e-6)
    at = {int(r): i for i, r in enumerate(rows)}
    np.testing.assert_allclose(res.confidence, final[[at[int(r)] for r in res.positions]].max(axis=1), atol=1e-5)
