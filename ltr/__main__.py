"""``python -m ltr``: the ``ltr`` command line (see `ltr.cli`)."""
import sys

from .cli import main

if __name__ == "__main__":
    sys.exit(main())
