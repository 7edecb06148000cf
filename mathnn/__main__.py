"""``python -m mathnn``: the mathnn command."""

import sys

from .cli import main

sys.exit(main())
