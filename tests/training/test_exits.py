"""``training.exits``: a process that leaves with ``os._exit`` removes the AutoGraph
sources it wrote, and only those (a real training process is checked end to end in
``tests/training/cli/test_stream.py``)."""
import os
import sys
import tempfile

from training.exits import AUTOGRAPH_PREFIX, remove_autograph_files


def _autograph_files() -> set[str]:
    return {m.__file__ for name, m in list(sys.modules.items())
            if name.startswith(AUTOGRAPH_PREFIX) and os.path.exists(getattr(m, "__file__", ""))}


def test_the_sources_this_process_wrote_are_removed_and_no_one_elses():
    import tensorflow as tf

    @tf.function
    def clipped(x):
        if tf.reduce_sum(x) > 0:   # a tensor condition: AutoGraph converts the function
            return x
        return -x

    before = _autograph_files()
    assert float(clipped(tf.constant([1.0, -3.0]))[1]) == 3.0
    written = _autograph_files() - before
    assert written, "AutoGraph wrote no source file (has TensorFlow stopped writing them?)"
    temp = os.path.realpath(tempfile.gettempdir())
    assert all(os.path.dirname(os.path.realpath(f)) == temp for f in written)
    # Another program's AutoGraph file in the same temporary folder is not this process's.
    fd, foreign = tempfile.mkstemp(prefix=AUTOGRAPH_PREFIX, suffix=".py")
    os.close(fd)
    try:
        assert remove_autograph_files() >= len(written)
        assert not any(os.path.exists(f) for f in written)
        assert os.path.exists(foreign)
        assert remove_autograph_files() == 0   # gone already: nothing to do, no error
    finally:
        os.remove(foreign)
