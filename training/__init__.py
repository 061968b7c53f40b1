"""Image Classification Workbench: the Qt-free core (data, models, training, evaluation).

Kept tiny on purpose: importing ``training`` must not import TensorFlow, so the GUI and
the dataset tools start fast. Import the submodules you need (``training.data``, ...).
"""

__version__ = "0.1.0"

# Every process that imports TensorFlow imports this package first: the quiet-logging
# environment must be in place before that import (see training.logs.QUIET_ENV).
from training.logs import quiet_native_env

quiet_native_env()
