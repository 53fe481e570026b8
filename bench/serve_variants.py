"""The web app on other servers, to compare with ``newsletter serve`` in bench/signup_load.py.

    .venv/bin/python bench/signup_load.py --serve-command "bench/serve_variants.py waitress-poll {port}"

Variants (the app and its mail worker as ``serve`` builds them; only the server differs):
  waitress-poll   waitress with its own poll loop (what ``serve`` ran before the epoll loop)
  cheroot         cheroot's thread pool (``pip install cheroot``); no request deadline
                  or per-IP cap of ours: a worker thread reads each request itself
  uvicorn         uvicorn + httptools + uvloop, the app through a2wsgi's thread pool
                  (``pip install uvicorn httptools uvloop a2wsgi``); no per-IP cap
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))


def main() -> None:
    from issues.web import create_app
    from newsletter.permissions import keep_files_private
    from newsletter.workspace import Workspace

    kind, port = sys.argv[1], int(sys.argv[2])
    keep_files_private()
    ws = Workspace(os.environ["NEWSLETTER_HOME"])
    app = create_app(ws)
    threads = int(ws.settings.web.threads)
    if kind == "waitress-poll":
        from waitress import wasyncore

        from newsletter.server import make_server, waitress_options

        server = make_server(app, "127.0.0.1", port, **waitress_options(ws))
        server.asyncore = wasyncore  # waitress's own loop instead of ours
        server.run()
    elif kind == "cheroot":
        from cheroot import wsgi

        wsgi.Server(("127.0.0.1", port), app, numthreads=threads, request_queue_size=2048,
                    timeout=int(ws.settings.web.request_timeout)).start()
    elif kind == "uvicorn":
        import uvicorn
        from a2wsgi import WSGIMiddleware

        uvicorn.run(WSGIMiddleware(app, workers=threads), host="127.0.0.1", port=port, log_level="warning",
                    backlog=2048, access_log=False, loop="uvloop", http="httptools",
                    timeout_keep_alive=60)
    else:
        raise SystemExit(f"unknown variant {kind!r}: waitress-poll, cheroot or uvicorn")


if __name__ == "__main__":
    main()
