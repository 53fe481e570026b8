"""Run the ``newsletter`` CLI in this process as if the clock read ``argv[1]`` (an ISO time), for kill tests."""

from __future__ import annotations

import sys
from datetime import datetime

from newsletter import clock
from newsletter.articles import importer

if __name__ == "__main__":
    moment = datetime.fromisoformat(sys.argv[1])
    clock.utcnow = importer.utcnow = lambda: moment  # type: ignore[assignment]
    from cli import entry_point

    sys.argv = ["newsletter", *sys.argv[2:]]
    entry_point()
