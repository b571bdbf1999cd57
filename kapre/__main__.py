"""``python -m kapre``: the ``kapre`` command (see :mod:`kapre.cli`)."""

import sys

from kapre.cli import main

if __name__ == "__main__":
    sys.exit(main())
