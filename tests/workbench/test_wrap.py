"""Text for labels: paths that wrap and sizes in words (workbench.widgets.wrap)."""
from __future__ import annotations

from workbench.widgets.wrap import ZWSP, breakable, human_size


def test_a_path_breaks_after_its_separators_and_reads_the_same():
    text = "/home/me/.keras/models/mobilenet_v2_weights.h5"
    out = breakable(text)
    assert out.replace(ZWSP, "") == text
    assert out.count(ZWSP) == sum(text.count(c) for c in "/\\_-.")


def test_sizes_in_binary_units_as_file_managers_show_them():
    assert human_size(0) == "0 bytes"
    assert human_size(1023) == "1,023 bytes"
    assert human_size(1536) == "1.5 KB"
    assert human_size(5 * 2**20) == "5.0 MB"
    assert human_size(3 * 2**40) == "3072.0 GB"   # past GB the count stays in GB
