"""`python -m dhcpd`: the server's command line."""

import sys

from dhcpd.cli import main

sys.exit(main())
