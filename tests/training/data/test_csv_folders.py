"""A CSV's image folder is found without being named: beside the CSV, named like its
stem, ``images/``, ``train/``, or the one sibling folder that holds the ids (issue 11.1)."""
import json
import os
import subprocess
import sys

import pytest

from tests.imagegen import class_image, write_image
from training.data import DatasetError, DatasetSpec, open_dataset
from training.data.csvsource import ImagesFolderNotFound


def _layout(root, folder: str, csv_name: str = "labels.csv", n: int = 12, ext: bool = False):
    pics = root / folder if folder else root
    pics.mkdir(parents=True, exist_ok=True)
    rows = ["id,label"]
    for i in range(n):
        label = ("cat", "dog")[i % 2]
        write_image(pics / f"img{i:03d}.png", class_image(i % 2, 8))
        rows.append(f"img{i:03d}{'.png' if ext else ''},{label}")
    (root / csv_name).write_text("\n".join(rows) + "\n", encoding="utf-8")
    return root / csv_name


@pytest.mark.parametrize("folder", ["images", "train", "photos", "labels", ""])
@pytest.mark.parametrize("ext", [False, True])
def test_images_folder_is_found(tmp_path, folder, ext):
    csv = _layout(tmp_path / "ds", folder, ext=ext)
    for path in (csv, csv.parent):  # the CSV itself or its folder
        index = open_dataset(str(path))
        assert index.kind == "csv" and len(index) == 12 and index.bad_files == []
        assert index.classes == ["cat", "dog"]


def test_a_folder_holding_the_ids_wins_over_an_empty_one(tmp_path):
    csv = _layout(tmp_path / "ds", "pics")
    (tmp_path / "ds" / "images").mkdir()  # a preferred name, but it holds none of the ids
    index = open_dataset(str(csv))
    assert len(index) == 12 and os.path.basename(os.path.dirname(index.paths[0])) == "pics"


def test_no_folder_lists_the_folders_tried(tmp_path):
    csv = _layout(tmp_path / "ds", "pics")
    for p in (tmp_path / "ds" / "pics").iterdir():
        p.unlink()
    with pytest.raises(ImagesFolderNotFound) as info:
        open_dataset(str(csv))
    assert isinstance(info.value, DatasetError)
    message = str(info.value)
    assert "pics" in message and "images" in message and "labels.csv" in message
    assert info.value.columns == ["id", "label"]


def test_cli_needs_no_images_option(tmp_path):
    csv = _layout(tmp_path / "ds", "images")
    env = dict(os.environ, PYTHONPATH=os.getcwd())
    out = subprocess.run([sys.executable, "-m", "training", "inspect", str(csv), "--json"],
                         check=False, capture_output=True, text=True, env=env, timeout=120)
    assert out.returncode == 0, out.stderr
    assert json.loads(out.stdout.strip().splitlines()[-1])["num_samples"] == 12


def test_cli_error_lists_folders_tried(tmp_path):
    csv = _layout(tmp_path / "ds", "images")
    for p in (tmp_path / "ds" / "images").iterdir():
        p.unlink()
    env = dict(os.environ, PYTHONPATH=os.getcwd())
    out = subprocess.run([sys.executable, "-m", "training", "inspect", str(csv)],
                         check=False, capture_output=True, text=True, env=env, timeout=120)
    assert out.returncode == 2
    assert "images" in out.stderr and "tried" in out.stderr


def test_chosen_images_dir_still_wins(tmp_path):
    csv = _layout(tmp_path / "ds", "images")
    other = tmp_path / "elsewhere"
    other.mkdir()
    with pytest.raises(DatasetError):
        open_dataset(DatasetSpec(str(csv), images_dir=str(other)))


def test_a_tsv_label_table_opens_like_a_csv_by_file_folder_and_cli(tmp_path, capsys):
    from tests.imagegen import make_tsv_dataset
    from tests.training.trainutil import run_cli
    from training.data.csvsource import read_header

    tsv = make_tsv_dataset(tmp_path / "pets")   # commas in the names: tabs must split
    assert read_header(str(tsv)) == ["file", "species"]
    for path in (tsv, tmp_path / "pets"):
        index = open_dataset(str(path))
        assert index.kind == "csv" and index.classes == ["big, cat", "small, dog"]
        assert len(index) == 12 and not index.bad_files
    code, out, err = run_cli(capsys, "inspect", tsv, "--quick", "--json")
    assert code == 0, err
    assert out["kind"] == "csv" and out["num_samples"] == 12
