"""The bundled sample dataset (resources/sample) is present, valid, small and reproducible."""
import os
import sys

import pytest
from PIL import Image

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SAMPLE = os.path.join(ROOT, "resources", "sample")
sys.path.insert(0, os.path.join(ROOT, "scripts"))
import make_sample  # noqa: E402


def _class_dirs():
    return sorted(d for d in os.listdir(SAMPLE) if os.path.isdir(os.path.join(SAMPLE, d)))


def test_sample_has_ten_classes_of_valid_pngs():
    assert _class_dirs() == sorted(make_sample.CLASS_NAMES)
    for c in _class_dirs():
        files = os.listdir(os.path.join(SAMPLE, c))
        assert 100 <= len(files) <= 200, (c, len(files))
        for f in files:
            assert f.endswith(".png"), (c, f)
            with Image.open(os.path.join(SAMPLE, c, f)) as im:
                im.load()  # raises on a truncated or corrupt file
                assert im.format == "PNG" and im.mode == "L" and im.size == (28, 28), (c, f)


def test_class_folder_names_are_portable():
    for c in _class_dirs():
        assert not set(c) & set('<>:"/\\|?* '), c


def test_sample_names_its_source_and_licence():
    with open(os.path.join(SAMPLE, "LICENSE"), encoding="utf-8") as f:
        lic = f.read()
    assert "MIT License" in lic and "Zalando SE" in lic
    with open(os.path.join(SAMPLE, "README.md"), encoding="utf-8") as f:
        readme = f.read()
    assert "Fashion-MNIST" in readme and "Zalando Research" in readme and "MIT" in readme


def test_sample_is_under_5_mb():
    total = sum(os.path.getsize(os.path.join(d, f))
                for d, _, files in os.walk(SAMPLE) for f in files)
    assert total < 5_000_000, total


@pytest.mark.skipif(not os.path.isdir(make_sample.DEFAULT_SRC),
                    reason="Fashion-MNIST IDX files (dataset-fashion-mnist package) not installed")
def test_make_sample_reproduces_the_bundled_files(tmp_path):
    per_class = len(os.listdir(os.path.join(SAMPLE, make_sample.CLASS_NAMES[0])))
    make_sample.main(["--out", str(tmp_path), "--per-class", str(per_class), "--seed", "0"])
    for c in make_sample.CLASS_NAMES:
        assert sorted(os.listdir(tmp_path / c)) == sorted(os.listdir(os.path.join(SAMPLE, c)))
    for name in ("LICENSE", "README.md"):
        assert (tmp_path / name).read_bytes() == open(os.path.join(SAMPLE, name), "rb").read()
    # Byte-identical PNGs: the committed sample is exactly what the script makes.
    for c in make_sample.CLASS_NAMES[:2]:
        for f in os.listdir(tmp_path / c):
            assert (tmp_path / c / f).read_bytes() == open(os.path.join(SAMPLE, c, f), "rb").read()
