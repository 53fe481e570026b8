"""The send benchmark's scenario server: :class:`newsletter.smtp_sink.SmtpSink` in a process of its own.

Run: ``python bench/scripted_sink.py PORT OUT.json [--greylist-every N] [--slow DOMAIN:SECONDS]
[--greylist-domain DOMAIN] [--refuse-everyone REPLY]``.

``--greylist-every 10`` answers 451 to the first RCPT of one distinct recipient in ten
(plain greylisting: the retry is accepted); ``--greylist-domain gmail.com`` does so for
every recipient at that domain (a provider greylisting every new sender); ``--slow yahoo.com:0.2`` answers that
domain's RCPTs only after 0.2 s.  On SIGTERM it writes what it accepted to OUT.json:
messages, distinct recipients, per recipient domain the times (seconds since the
first message) at which its messages were accepted, the times at which greylisted
recipients were accepted on their retry, and the wall-clock time of the first message.
"""

from __future__ import annotations

import argparse
import json
import signal
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from newsletter.smtp_sink import Received, SmtpSink  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("port", type=int)
    parser.add_argument("out")
    parser.add_argument("--greylist-every", type=int, default=0)
    parser.add_argument("--greylist-domain", action="append", default=[], metavar="DOMAIN")
    parser.add_argument("--slow", action="append", default=[], metavar="DOMAIN:SECONDS")
    parser.add_argument("--refuse-everyone", metavar="REPLY", help='e.g. "451 4.3.0 Try later": to every RCPT')
    args = parser.parse_args()
    sink = SmtpSink(port=args.port, keep_bodies=False)
    accepted: dict[str, list[float]] = {}
    retries: list[float] = []  # when a recipient refused earlier (greylisted) was accepted
    start: list[float] = []

    def seen(message: Received) -> None:  # called on the sink's own thread, one message at a time
        now = time.monotonic()
        if not start:
            start.append(now)
            start.append(time.time())
        for rcpt in message.rcpt_tos:
            accepted.setdefault(rcpt.lower().rpartition("@")[2], []).append(now - start[0])
            if sink.was_greylisted(rcpt):
                retries.append(now - start[0])

    sink.handler.on_message = seen
    sink.greylist(args.greylist_every)
    for domain in args.greylist_domain:
        sink.greylist_domain(domain)
    sink.refuse_everyone(args.refuse_everyone)
    for item in args.slow:
        domain, _, seconds = item.rpartition(":")
        sink.slow_domain(domain, float(seconds))
    stopping: list[int] = []
    signal.signal(signal.SIGTERM, lambda *_: stopping.append(1))
    with sink:
        print("ready", flush=True)
        while not stopping:
            time.sleep(0.05)
        messages = sink.messages
    Path(args.out).write_text(json.dumps({
        "messages": len(messages), "recipients": len(sink.counts()), "accepted": accepted,
        "retries": retries, "first_at": start[1] if start else None,
    }))


if __name__ == "__main__":
    main()
