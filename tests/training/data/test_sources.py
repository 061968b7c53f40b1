import os
import struct

import numpy as np
import pytest

from tests.imagegen import (class_image, make_class_folder, make_csv_dataset, make_idx_dataset,
                            make_split_folder, write_image)
from training.data import TEST, VALIDATION, DatasetError, DatasetSpec, open_dataset
from training.data.arraysource import FASHION_CLASSES


def test_class_folders(class_folder):
    index = open_dataset(class_folder)
    assert index.kind == "folders" and index.classes == ["cat", "dog", "fox"]
    assert len(index) == 36 and not index.has_source_split
    counts = index.counts()
    assert counts["train"] == {"cat": 10, "dog": 10, "fox": 10}
    assert counts["validation"] == counts["test"] == {"cat": 1, "dog": 1, "fox": 1}
    for p, label in zip(index.paths, index.labels):
        assert os.path.basename(os.path.dirname(p)) == index.classes[label]
    assert index.bad_files == [] and index.fingerprint() == open_dataset(class_folder).fingerprint()


def test_split_seed_and_fractions_come_from_the_spec(class_folder):
    a = open_dataset(DatasetSpec(str(class_folder), seed=1, val_fraction=0.25, test_fraction=0.0))
    b = open_dataset(DatasetSpec(str(class_folder), seed=2, val_fraction=0.25, test_fraction=0.0))
    assert a.counts()["validation"]["cat"] == 3 and a.counts()["test"]["cat"] == 0
    assert not np.array_equal(a.splits, b.splits)


@pytest.mark.parametrize("val_name", ["validation", "valid", "val"])
def test_split_folders_keep_the_source_split(tmp_path, val_name):
    root = make_split_folder(tmp_path / "s", counts=(6, 3, 2), val_name=val_name)
    index = open_dataset(root)
    assert index.kind == "splits" and index.has_source_split
    assert index.counts() == {"train": {"cat": 6, "dog": 6}, "validation": {"cat": 3, "dog": 3},
                              "test": {"cat": 2, "dog": 2}}
    for p, s in zip(index.paths, index.splits):
        assert os.sep + ("train", val_name, "test")[s] + os.sep in p


def test_split_folders_without_test_or_validation(tmp_path):
    no_test = open_dataset(make_split_folder(tmp_path / "a", counts=(6, 3, 0)))
    assert no_test.counts()["test"] == {"cat": 0, "dog": 0}
    assert no_test.counts()["validation"] == {"cat": 3, "dog": 3}
    # train + test only: validation is carved out of train, stratified.
    root = make_split_folder(tmp_path / "b", counts=(10, 0, 3))
    index = open_dataset(root)
    assert index.kind == "splits"
    assert index.counts()["validation"] == {"cat": 1, "dog": 1}
    assert index.counts()["train"] == {"cat": 9, "dog": 9}
    assert index.counts()["test"] == {"cat": 3, "dog": 3}


@pytest.mark.parametrize("with_ext", [False, True])
def test_csv_ids_with_and_without_extension(tmp_path, with_ext):
    csv = make_csv_dataset(tmp_path / "cactus", n=20, with_ext=with_ext)
    for path in (csv, csv.parent):  # the CSV itself, or its folder
        index = open_dataset(path)
        assert index.kind == "csv" and index.classes == ["0", "1"] and len(index) == 20
        assert index.bad_files == []
        for p, label in zip(index.paths, index.labels):
            assert os.path.isfile(p)
            assert int(os.path.basename(p)[3:7]) % 2 == label


def test_csv_chosen_columns_and_images_dir(tmp_path):
    rng = np.random.default_rng(0)
    pics = tmp_path / "pictures"
    lines = ["animal;weight;picture;split"]
    for i in range(12):
        write_image(pics / "sub" / f"p{i}.png", class_image(i % 3, 16, rng))
        lines.append(f"{['ant', 'bee', 'cow'][i % 3]};{i};sub/p{i};{'train' if i < 9 else 'test'}")
    csv = tmp_path / "meta" / "table.csv"
    csv.parent.mkdir()
    csv.write_text("\n".join(lines), encoding="utf-8")
    with pytest.raises(DatasetError, match="Columns: animal, weight, picture, split"):
        open_dataset(DatasetSpec(str(csv), images_dir=str(pics), label_column="animal"))
    index = open_dataset(DatasetSpec(str(csv), images_dir=str(pics), id_column="Picture",
                                     label_column="animal"))
    assert index.classes == ["ant", "bee", "cow"] and len(index) == 12
    assert index.has_source_split and index.counts()["test"] == {"ant": 1, "bee": 1, "cow": 1}
    assert all(index.classes[l] == ["ant", "bee", "cow"][int(os.path.basename(p)[1:-4]) % 3]
               for p, l in zip(index.paths, index.labels))
    with pytest.raises(DatasetError, match="'nope' is not in table.csv"):
        open_dataset(DatasetSpec(str(csv), images_dir=str(pics), id_column="nope", label_column="animal"))


@pytest.mark.parametrize("gz", [True, False])
def test_idx_keeps_train_test_and_carves_validation(tmp_path, gz):
    root = make_idx_dataset(tmp_path / "mnist", n_train=40, n_test=20, gz=gz)
    index = open_dataset(root)
    assert index.kind == "idx" and index.has_source_split
    assert index.classes == ["0", "1", "2", "3"]
    assert index.arrays.shape == (60, 8, 8) and index.arrays.dtype == np.uint8
    assert (index.splits == TEST).sum() == 20 and (index.splits == VALIDATION).sum() == 4
    assert index.paths[0].endswith("train-images-idx3-ubyte" + (".gz" if gz else "") + "#0")
    # The path of one IDX file finds its folder too.
    assert len(open_dataset(next(root.iterdir()))) == 60


def test_fashion_idx_gets_fashion_class_names(tmp_path):
    index = open_dataset(make_idx_dataset(tmp_path / "fashion-mnist", classes=10, n_train=50))
    assert index.classes == FASHION_CLASSES


def test_npz_variants(tmp_path):
    rng = np.random.default_rng(0)
    x = np.stack([class_image(i % 2, 8, rng) for i in range(20)])
    np.savez(tmp_path / "plain.npz", x=x, y=np.arange(20) % 2, class_names=np.array(["no", "yes"]))
    index = open_dataset(tmp_path / "plain.npz")
    assert index.kind == "npz" and index.classes == ["no", "yes"] and index.arrays.shape == (20, 8, 8, 3)
    assert index.paths[3].endswith("plain.npz#3") and not index.has_source_split
    xf = x[:, :, :, 0].astype(np.float32) / 255.0
    np.savez(tmp_path / "keras.npz", x_train=xf[:14], y_train=np.eye(2)[np.arange(14) % 2],
             x_test=xf[14:], y_test=np.eye(2)[np.arange(6) % 2])
    index = open_dataset(tmp_path / "keras.npz")
    assert index.has_source_split and (index.splits == TEST).sum() == 6
    assert index.arrays.dtype == np.uint8 and index.arrays.max() > 200
    assert np.array_equal(index.labels[:14], np.arange(14) % 2)


def test_npz_with_pickled_objects_is_refused(tmp_path):
    np.savez(tmp_path / "evil.npz", x=np.array([object()] * 4, dtype=object), y=np.zeros(4))
    with pytest.raises(DatasetError, match="without pickles"):
        open_dataset(tmp_path / "evil.npz")


def test_idx_garbage_header_is_reported(tmp_path):
    root = tmp_path / "idx"
    root.mkdir()
    (root / "train-images-idx3-ubyte").write_bytes(b"not idx at all")
    (root / "train-labels-idx1-ubyte").write_bytes(struct.pack(">II", 2049, 1) + b"\x00")
    with pytest.raises(DatasetError, match="not an IDX"):
        open_dataset(root)


def test_fewer_than_two_classes_is_a_clear_error(tmp_path):
    make_class_folder(tmp_path / "one", classes=("cat",), per_class=3)
    (tmp_path / "one" / "dog").mkdir()
    with pytest.raises(DatasetError) as info:
        open_dataset(tmp_path / "one")
    assert "at least two classes" in str(info.value) and "'cat'" in str(info.value)


def test_missing_path_and_non_dataset_file(tmp_path):
    with pytest.raises(DatasetError, match="does not exist"):
        open_dataset(tmp_path / "nowhere")
    (tmp_path / "notes.txt").write_text("hello")
    with pytest.raises(DatasetError, match="Not a dataset file"):
        open_dataset(tmp_path / "notes.txt")


def test_unsupported_photo_formats_are_named(class_folder):
    (class_folder / "cat" / "IMG_0001.HEIC").write_bytes(b"\x00\x00\x00\x18ftypheic")
    index = open_dataset(class_folder)
    assert [b.reason for b in index.bad_files] == [
        "unsupported image format (.heic); convert it to JPEG or PNG to use it"]


def test_loose_files_at_the_root(class_folder):
    (class_folder / "README.md").write_text("about this data")
    write_image(class_folder / "stray.png", class_image(0))
    index = open_dataset(class_folder)
    # An image outside the class folders is unlabelled (issue 23), not a bad file.
    assert index.bad_files == []
    assert [os.path.basename(p) for p in index.unlabelled] == ["stray.png"]


@pytest.mark.skipif(os.name != "posix" or os.geteuid() == 0, reason="needs a non-root POSIX user")
def test_unreadable_folder_is_reported(class_folder):
    locked = class_folder / "dog" / "locked"
    locked.mkdir()
    locked.chmod(0)
    try:
        index = open_dataset(class_folder)
    finally:
        locked.chmod(0o755)
    assert any(b.path == str(locked) and "cannot read folder" in b.reason for b in index.bad_files)


@pytest.mark.skipif(os.name != "posix", reason="symbolic links")
def test_symlinks_to_files_are_used_and_broken_ones_reported(class_folder):
    os.symlink(class_folder / "cat" / "cat_000.png", class_folder / "dog" / "alias.png")
    os.symlink(class_folder / "nowhere.png", class_folder / "dog" / "dangling.png")
    os.symlink("self.png", class_folder / "dog" / "self.png")
    index = open_dataset(class_folder)
    assert str(class_folder / "dog" / "alias.png") in index.paths
    assert {os.path.basename(b.path): b.reason for b in index.bad_files} == {
        "dangling.png": "broken symbolic link", "self.png": "symbolic link loop"}


def test_indexing_is_fast_and_does_not_open_files(tmp_path):
    import time

    for c in range(4):
        d = tmp_path / "many" / f"class{c}"
        d.mkdir(parents=True)
        for i in range(5000):
            (d / f"{i:05d}.png").touch()
    start = time.perf_counter()
    index = open_dataset(tmp_path / "many")
    elapsed = time.perf_counter() - start
    assert len(index) == 20000 and index.counts()["train"]["class3"] == 4000
    assert elapsed < 2.0, f"indexing 20,000 files took {elapsed:.2f} s"
