"""`python -m nsexp` runs the command-line interface."""

import sys

from nsexp.cli import main

sys.exit(main())
