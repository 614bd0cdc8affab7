"""`python -m dylived` runs the `dylived` command."""

import sys

from dylived.cli import main


sys.exit(main())
