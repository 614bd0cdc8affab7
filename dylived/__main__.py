"""`python -m dylived` runs the `dylived` command."""

import sys

from dylived.app.cli import main


sys.exit(main())
