"""``python -m kapre.cli``: the ``kapre`` command."""

import sys

from kapre.cli import main

if __name__ == "__main__":
    sys.exit(main())
