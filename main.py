"""Launch Image Classification Workbench: ``python main.py [--dataset PATH] …``."""
import sys

from workbench.app import main

if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
