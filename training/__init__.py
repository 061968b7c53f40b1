"""Image Classification Workbench: the Qt-free core (data, models, training, evaluation).

Kept tiny on purpose: importing ``training`` must not import TensorFlow, so the GUI and
the dataset tools start fast. Import the submodules you need (``training.data``, ...).
"""

__version__ = "0.1.0"
