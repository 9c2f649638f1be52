"""``python -m dystress``: the command line without the installed ``dystress`` script (``dystress.cli``)."""

import sys

from dystress.cli import main

sys.exit(main())
