"""``python -m training``: see :mod:`training.cli.main`."""
import sys

from training.cli.main import main

if __name__ == "__main__":
    sys.exit(main())
