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
