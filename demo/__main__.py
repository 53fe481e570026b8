"""``python -m demo DIR`` (what ``make demo`` runs)."""

import sys

from demo import main

sys.exit(main())
