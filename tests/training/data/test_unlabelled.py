"""Unlabelled images (issue 23): loose folders, classes made in the app, the overlay's schema 2."""
from __future__ import annotations

import json
import os

import numpy as np
import pytest

from tests.imagegen import class_image, make_class_folder, write_image
from training.data import DatasetError, open_dataset
from training.data.classedits import ClassNameError
from training.data.overlay import LabelOverlay, load_overlay
from training.data.overlay_apply import apply_overlay, set_fixes, trusted_overlay
from training.data.pool import class_name, class_totals, pool_left
from training.data.sources import check_trainable


def loose_folder(root, n=6, start=0):
    for i in range(start, start + n):
        write_image(root / f"img_{i:03d}.png", class_image(i % 3))
    return root


def file_bytes(root) -> dict:
    return {str(p): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()
            and ".workbench" not in p.parts}


def test_a_folder_of_loose_images_opens_with_every_image_unlabelled(tmp_path):
    root = loose_folder(tmp_path / "photos")
    index = open_dataset(root)
    assert len(index) == 0 and index.classes == []
    assert [os.path.basename(p) for p in index.unlabelled] == [f"img_{i:03d}.png" for i in range(6)]
    assert index.bad_files == []
    summary = index.summary()
    assert summary["labelled"] == 0 and summary["unlabelled"] == 6
    with pytest.raises(DatasetError, match="at least two classes"):
        check_trainable(index)


def test_class_folders_plus_loose_images(tmp_path):
    root = make_class_folder(tmp_path / "mixed", classes=("cat", "dog"), per_class=4)
    loose_folder(root, n=3)
    index = open_dataset(root)
    assert index.classes == ["cat", "dog"] and len(index) == 8
    assert len(index.unlabelled) == 3
    # The loose images are no rows: nothing downstream can read them as class 0.
    assert not any(os.path.dirname(p) == str(root) for p in index.paths)
    assert sum(sum(c.values()) for c in index.counts().values()) == 8
    assert class_name(index.classes, -1) == "unlabelled"


def test_labels_given_to_loose_images_join_the_index_split_by_class(tmp_path):
    root = loose_folder(tmp_path / "photos", n=10)
    before = file_bytes(root)
    ov = LabelOverlay(root=str(root))
    ov.add_class("round", [])
    ov.add_class("square", [])
    for i in range(10):
        ov.relabel(str(root / f"img_{i:03d}.png"), "round" if i < 6 else "square")
    ov.save()
    index = open_dataset(root)
    assert index.classes == ["round", "square"] and len(index) == 10 and index.unlabelled == []
    assert np.bincount(index.labels).tolist() == [6, 4]
    # Stratified, seeded: 6 images give 1 validation and 1 test image; reopening agrees.
    assert sorted(np.asarray(index.splits)[index.labels == 0].tolist()) == [0, 0, 0, 0, 1, 2]
    again = open_dataset(root)
    assert again.splits.tolist() == index.splits.tolist()
    assert list(check_trainable(index).values()) == [6, 4]
    assert file_bytes(root) == before   # the images are never touched


def test_classes_created_renamed_and_deleted_live_in_the_overlay(tmp_path):
    root = make_class_folder(tmp_path / "d", classes=("cat", "dog"), per_class=4)
    loose_folder(root, n=2)
    before = file_bytes(root)
    source = ["cat", "dog"]
    ov = LabelOverlay(root=str(root))
    assert ov.add_class(" bird ", source) == "bird"
    with pytest.raises(ClassNameError, match="already"):
        ov.add_class("cat", source)
    with pytest.raises(ClassNameError, match="empty"):
        ov.add_class("  ", source)
    ov.relabel(str(root / "img_000.png"), "bird")
    ov.relabel(str(root / "cat" / "cat_000.png"), "dog", original="cat")
    ov.rename_class("dog", "hound", source)   # a folder: mapped, never renamed on disk
    assert ov.labels[ov.key(str(root / "cat" / "cat_000.png"))] == "hound"
    ov.rename_class("bird", "parrot", source)
    assert ov.labels[ov.key(str(root / "img_000.png"))] == "parrot"
    ov.save()
    index = open_dataset(root)
    assert index.classes == ["cat", "hound", "parrot"]
    assert index.source_classes == ["cat", "dog"]
    with pytest.raises(DatasetError, match="at least 2 labelled images to train: 'parrot' has 1"):
        check_trainable(index)
    assert class_totals(index) == {"cat": 3, "hound": 5, "parrot": 1}
    assert len(index.unlabelled) == 1
    assert (root / "dog").is_dir() and not (root / "hound").exists()
    # Deleting a folder class sends its images to the pool (except those a fix labels).
    ov = load_overlay(str(root))
    ov.delete_class("hound", ["cat", "dog"])
    ov.save()
    index = open_dataset(root)
    assert index.classes == ["cat", "parrot"]
    # The loose one and dog's 4; the cat fixed to "hound" lost its fix: a cat again.
    assert len(index.unlabelled) == 1 + 4
    assert class_totals(index) == {"cat": 4, "parrot": 1}
    with pytest.raises(DatasetError, match="'parrot' has 1"):
        check_trainable(index)
    assert file_bytes(root) == before


def test_overlay_version_1_reads_as_version_2(tmp_path):
    root = make_class_folder(tmp_path / "d", classes=("cat", "dog"), per_class=3)
    ov = LabelOverlay(root=str(root))
    ov.relabel(str(root / "cat" / "cat_000.png"), "dog")
    path = ov.save()
    data = json.loads(open(path).read())
    assert data["schema_version"] == 2 and data["classes"] == {"added": [], "renamed": {}, "deleted": []}
    # A file as version 1 wrote it (signed as it was): still made here, same digest.
    from training.data.provenance import sign

    v1 = {"schema_version": 1, "root": data["root"], "labels": data["labels"], "excluded": []}
    with open(path, "w") as f:
        json.dump(sign(v1), f)
    old = load_overlay(str(root))
    assert old.made_here and len(old.classes) == 0 and old.labels == data["labels"]
    assert old.digest() == ov.digest()
    index = open_dataset(root)
    assert index.labels[0] == 1
    old.add_class("bird", ["cat", "dog"])
    old.save()
    assert json.loads(open(path).read())["schema_version"] == 2
    assert load_overlay(str(root)).classes.added == ["bird"]
    # A newer version is refused, never guessed at.
    with open(path, "w") as f:
        json.dump({**data, "schema_version": 3}, f)
    with pytest.raises(ValueError, match="newer version"):
        load_overlay(str(root))


def test_two_labels_given_to_one_image_keep_the_last_and_undo_restores(tmp_path):
    root = loose_folder(tmp_path / "photos", n=4)
    ov = LabelOverlay(root=str(root))
    ov.add_class("a", [])
    ov.add_class("b", [])
    ov.save()
    index = open_dataset(root)
    target = index.unlabelled[0]
    history = []
    for label in ("a", "b"):
        before = ov.state(target)
        set_fixes(index, ov, [target], [(label, False)])
        history.append(before)
    assert load_overlay(str(root)).state(target) == ("b", False)
    assert open_dataset(root).classes[int(open_dataset(root).labels[0])] == "b"
    set_fixes(index, ov, [target], [history[-1]])      # undo the second
    assert load_overlay(str(root)).state(target) == ("a", False)
    set_fixes(index, ov, [target], [history[0]])       # undo the first
    assert load_overlay(str(root)).state(target) == (None, False)
    assert len(open_dataset(root).unlabelled) == 4


def test_set_fixes_on_a_pool_image_asks_for_a_reopen_and_counts_follow(tmp_path):
    root = make_class_folder(tmp_path / "d", classes=("cat", "dog"), per_class=3)
    loose_folder(root, n=3)
    overlay, _ = trusted_overlay(str(root))
    index = apply_overlay(open_dataset(root, overlay=False), overlay)
    assert pool_left(index, overlay) == 3
    assert set_fixes(index, overlay, [index.unlabelled[0]], [("cat", False)]) is True
    assert class_totals(index, overlay) == {"cat": 4, "dog": 3}
    assert pool_left(index, overlay) == 2
    assert len(index) == 6   # the open index keeps its rows until reopened


def test_health_and_evaluation_never_see_unlabelled_images(tmp_path):
    """Everything downstream reads rows; a loose image is never one (not class 0)."""
    root = make_class_folder(tmp_path / "d", classes=("cat", "dog"), per_class=3)
    loose_folder(root, n=5)
    index = open_dataset(root)
    assert len(index.paths) == len(index.labels) == len(index.splits) == 6
    assert set(index.unlabelled).isdisjoint(index.paths)
    assert index.fingerprint() == open_dataset(root).fingerprint()


def test_data_health_checks_the_labelled_images_only(tmp_path):
    """Health reads rows: an unlabelled image is in no count, list or duplicate group,
    even when it is a copy of a labelled one (it would be 'class 0' otherwise)."""
    import shutil

    from training.health.report import check_health

    root = make_class_folder(tmp_path / "d", classes=("cat", "dog"), per_class=6, size=16)
    loose_folder(root, n=4)
    shutil.copy(root / "dog" / "dog_000.png", root / "copy_of_a_dog.png")
    index = open_dataset(root)
    result = check_health(index)
    assert result["num_samples"] == 12
    text = json.dumps(result)
    assert "img_00" not in text and "copy_of_a_dog" not in text


def test_a_test_folder_without_class_folders_is_unlabelled(tmp_path):
    """train/<class>/ labelled, test/ loose (as many downloads come): the loose test images
    are the unlabelled pool, not ignored and not a class."""
    from tests.imagegen import make_split_folder

    root = make_split_folder(tmp_path / "kaggle", counts=(6, 3, 0))
    loose_folder(root / "test", n=4)
    index = open_dataset(root)
    assert index.kind == "splits" and index.classes == ["cat", "dog"] and len(index) == 18
    assert [os.path.basename(p) for p in index.unlabelled] == [f"img_{i:03d}.png" for i in range(4)]
    assert any("test/ has no class folders: its 4 images are unlabelled" in w for w in index.warnings)
