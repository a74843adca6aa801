"""python -m churnwatch_state_monitor.model train|diff|report (see ``model.cli``)."""

import sys

from churnwatch_state_monitor.model.cli import main

if __name__ == "__main__":
    sys.exit(main())
