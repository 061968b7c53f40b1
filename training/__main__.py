"""``python -m training``: see :mod:`training.cli.main`."""
import sys

from training.cli.main import main

if __name__ == "__main__":
    from training.logs import route_native_stderr

    route_native_stderr()   # native libraries' chatter to the log folder, not the terminal
    sys.exit(main())
