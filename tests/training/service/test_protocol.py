"""The wire format: frames survive any split, arrays travel as bytes, junk lines are skipped."""
import numpy as np
import pytest

from training.service import protocol as P


def test_a_message_with_arrays_round_trips_in_any_pieces():
    img = np.arange(2 * 3 * 3, dtype=np.uint8).reshape(2, 3, 3)
    heat = np.linspace(0, 1, 6, dtype=np.float32).reshape(2, 3)
    msg = {"type": "result", "id": 7, "data": {"rows": [{"thumb": img, "p": np.float32(0.5)}],
                                                 "heat": heat, "none": None, "text": "é\nline"}}
    frame = P.encode(msg)
    assert b"pickle" not in frame and frame.count(b"\n") >= 1
    for step in (1, 7, len(frame)):
        d = P.Decoder()
        out = []
        for i in range(0, len(frame), step):
            out += d.feed(frame[i:i + step])
        assert len(out) == 1
        got = out[0]["data"]
        assert np.array_equal(got["rows"][0]["thumb"], img) and got["rows"][0]["thumb"].dtype == np.uint8
        assert np.array_equal(got["heat"], heat) and got["heat"].dtype == np.float32
        assert got["rows"][0]["p"] == 0.5 and got["none"] is None and got["text"] == "é\nline"


def test_junk_lines_between_frames_are_skipped_not_fatal():
    d = P.Decoder()
    stream = (b"oneDNN custom operations are on\n" + P.encode({"type": "status", "id": 1, "message": "a"})
              + b"\xff\xfe not utf-8\n[1, 2]\n" + P.encode({"type": "result", "id": 1, "data": 3}))
    out = d.feed(stream)
    assert [m["type"] for m in out] == ["status", "result"] and d.skipped == 3


def test_what_json_cannot_carry_is_refused_with_the_value():
    with pytest.raises(TypeError, match="Cannot send a object"):
        P.encode({"type": "result", "data": object()})
    assert P.encode({"type": "result", "data": {1, 2}})   # sets go as sorted lists


def test_a_version_mismatch_says_what_to_do():
    assert P.version_mismatch(P.PROTOCOL_VERSION) is None
    text = P.version_mismatch(0)
    assert "version 0" in text and f"version {P.PROTOCOL_VERSION}" in text and "Reinstall" in text
