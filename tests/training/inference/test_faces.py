"""Face detection on real photos (issue 11.12): faces are found on the astronaut, none on
photos the plain cascade saw faces in (coins, coffee at 2x, gravel, a tissue slide)."""
import cv2
import numpy as np
import pytest

skimage_data = pytest.importorskip("skimage.data")

from training.inference.faces import detect_faces  # noqa: E402


def _gray(a):
    if isinstance(a, tuple):
        a = a[0]
    return np.ascontiguousarray(cv2.cvtColor(a[..., :3], cv2.COLOR_RGB2GRAY) if a.ndim == 3 else a)


def test_a_real_face_is_found():
    faces = detect_faces(skimage_data.astronaut())
    assert len(faces) == 1
    x, y, w, h = faces[0]
    assert 0.3 < x + w / 2 < 0.7 and y < 0.5   # Eileen Collins' face, upper middle


@pytest.mark.parametrize("name,scale", [("coins", 1), ("coins", 2), ("coffee", 2),
                                        ("gravel", 2), ("immunohistochemistry", 2),
                                        ("chelsea", 1), ("rocket", 1)])
def test_no_face_on_non_faces(name, scale):
    image = _gray(getattr(skimage_data, name)())
    if scale != 1:
        image = cv2.resize(image, None, fx=scale, fy=scale)
    assert detect_faces(image) == []
