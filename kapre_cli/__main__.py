"""``python -m kapre_cli``: the ``kapre`` command."""

import sys

from kapre_cli import main

if __name__ == "__main__":
    sys.exit(main())
