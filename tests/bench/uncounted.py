"""The API and the command line with metrics counting off: the "off" side of a cost benchmark.

No setting turns counting off (a deployment always counts, and chooses only
who may read the figures), so ``operations_cost`` runs its "off" processes
through this module:

    gunicorn tests.bench.uncounted:app            # the API, counting nothing
    python -m tests.bench.uncounted registrar     # any command, counting nothing
"""

from __future__ import annotations

from lookup_api.app import get_app
from lookup_events.cli import main
from lookup_events.observability import metrics

# NOTE(dev): before the app exists, as ``lookup_api.wsgi`` builds it at import.
metrics.enable(False)
app = get_app() if __name__ != "__main__" else None

if __name__ == "__main__":
    main(prog_name="dtool-lookup")
