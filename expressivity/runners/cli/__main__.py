"""`python -m expressivity.runners.cli`."""

import sys

from expressivity.runners.cli.main import main

sys.exit(main())
