"""``python -m training.service``: the compute service (see :mod:`training.service`)."""
import sys

from training.service.main import main

if __name__ == "__main__":
    sys.exit(main())
