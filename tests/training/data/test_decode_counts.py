"""The decoding status and its counter agree (issue 11.11: "Decoding 5,009 images"
followed by a counter ending at "/ 5,008")."""
import re

from tests.imagegen import make_class_folder
from training.data import open_dataset
from training.data.images import open_images
from training.events import Events


class _Record(Events):
    def __init__(self):
        self.statuses, self.totals = [], []

    def on_status(self, message):
        self.statuses.append(message)

    def on_progress(self, done, total, what=""):
        self.totals.append((done, total))


def test_status_count_matches_the_counter(tmp_path):
    root = make_class_folder(tmp_path / "d", classes=("a", "b"), per_class=6, size=8)
    (root / "a" / "broken.png").write_bytes(b"\x89PNG\r\n\x1a\n truncated")
    index = open_dataset(str(root))
    events = _Record()
    data = open_images(index, (8, 8), "rgb", events, use_cache=False)
    try:
        data.fill(events)
    finally:
        data.close()
    said = [int(m.group(1).replace(",", "")) for s in events.statuses
            if (m := re.match(r"Decoding ([\d,]+) images", s))]
    assert said and events.totals
    assert events.totals[-1][0] == events.totals[-1][1] == said[-1]


def test_a_huge_jpeg_that_trains_also_makes_a_thumbnail():
    """Issue 22 item 4: decode_to_fit refused the 9000x9000 JPEG that decode_image (with a
    target size, as training reads) decodes, so the app reported a file it trained on."""
    from tests.hostile import huge_jpeg_bytes
    from training.data.decode import decode_image, decode_to_fit

    data = huge_jpeg_bytes()
    assert decode_image(data, size=(28, 28)).shape == (28, 28, 3)
    thumb = decode_to_fit(data, 128)
    assert max(thumb.shape[:2]) == 128
