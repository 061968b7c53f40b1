"""Session fixtures of the training tests.

They are imported here and not into the test modules: pytest registers a fixture imported
into a module as that module's own, so a "session" fixture imported into twelve modules was
made twelve times (the MLP run trained twelve times, the MobileNetV2 run twice). Defined
once here, each is made once per session. Tests read them; one that changes a run works on
a copy.
"""
from tests.training.trainutil import mlp_run, transfer_run  # noqa: F401  (session fixtures)
