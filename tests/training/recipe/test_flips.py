"""Auto's flip check on real images: mirrored digits are told apart worse (no flips);
faces vs non-faces are not (flips safe)."""
import numpy as np

from training.recipe.auto import DataFacts, choose
from training.recipe.flips import mirror_check, mirror_check_arrays


def test_digits_are_not_mirror_safe_and_faces_are():
    from skimage.data import lfw_subset
    from sklearn.datasets import load_digits

    digits = load_digits()
    d = mirror_check_arrays(np.round(digits.images * 255 / 16), digits.target)
    assert d.safe is False and d.z > 2 and d.accuracy > d.symmetric_accuracy
    faces = lfw_subset()  # 100 faces, then 100 non-faces, 25x25 in 0..1
    import cv2

    thumbs = np.stack([cv2.resize(f, (8, 8), interpolation=cv2.INTER_AREA) for f in faces])
    f = mirror_check_arrays(thumbs * 255, np.r_[np.zeros(100), np.ones(100)].astype(int))
    assert f.safe is True and f.images == 200
    assert mirror_check_arrays(np.zeros((10, 8, 8)), np.arange(10) % 2).safe is None  # too few


def test_the_check_can_veto_flips_for_colour_images():
    rgb = DataFacts(32, 32, False, 5_000, 10, mirror_safe=False)
    c = choose(rgb, (32, 32), imagenet_available=False)
    assert c.spec.augmentation.flip == "none" and "checked on a sample" in c.explanation
    rgb.mirror_safe = True
    assert choose(rgb, (32, 32), imagenet_available=False).spec.augmentation.flip == "horizontal"
    # Grayscale stays without flips even when they are safe (a short run underfits).
    gray = DataFacts(28, 28, True, 54_000, 10, mirror_safe=True)
    assert choose(gray, (28, 28), imagenet_available=False).spec.augmentation.flip == "none"


def test_the_check_reads_an_opened_dataset(tmp_path):
    from tests.imagegen import make_class_folder
    from training.data import open_dataset

    root = make_class_folder(tmp_path / "data", per_class=40, size=16)
    check = mirror_check(open_dataset(str(root)))
    assert check.images > 0 and check.safe in (True, False)
