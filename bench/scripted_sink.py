"""An aiosmtpd sink for the send benchmark's scenarios, run as its own process.

Run: ``python bench/scripted_sink.py PORT OUT.json [--greylist-every N] [--slow DOMAIN:SECONDS]``.

``--greylist-every 10`` answers 451 to the first RCPT of every tenth distinct
recipient (plain greylisting: the retry is accepted); ``--slow yahoo.com:0.2``
answers that domain's RCPTs only after 0.2 s.  On SIGTERM it writes what it
accepted to OUT.json: messages, distinct recipients, and per recipient domain the
times (seconds since the first message) at which its messages were accepted.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import signal
import time
import zlib
from pathlib import Path

from aiosmtpd.controller import Controller


class Handler:
    def __init__(self, greylist_every: int, slow: dict[str, float]) -> None:
        self.greylist_every, self.slow = greylist_every, slow
        self.seen: set[str] = set()
        self.messages = 0
        self.recipients: set[str] = set()
        self.accepted: dict[str, list[float]] = {}
        self.start: float | None = None

    async def handle_EHLO(self, server, session, envelope, hostname, responses):  # noqa: N802
        session.host_name = hostname
        if "250-PIPELINING" not in responses:
            responses.insert(1, "250-PIPELINING")
        return responses

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):  # noqa: N802
        key = address.lower()
        delay = self.slow.get(key.rpartition("@")[2])
        if delay:
            await asyncio.sleep(delay)
        if self.greylist_every and key not in self.seen and zlib.crc32(key.encode()) % self.greylist_every == 0:
            self.seen.add(key)
            return "451 4.7.1 Greylisted, please try again later"
        envelope.rcpt_tos.append(address)
        return "250 2.1.5 OK"

    async def handle_DATA(self, server, session, envelope):  # noqa: N802
        now = time.monotonic()
        self.start = self.start or now
        self.messages += 1
        for rcpt in envelope.rcpt_tos:
            self.recipients.add(rcpt.lower())
            self.accepted.setdefault(rcpt.lower().rpartition("@")[2], []).append(now - self.start)
        return "250 2.0.0 Ok: queued"


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("port", type=int)
    parser.add_argument("out")
    parser.add_argument("--greylist-every", type=int, default=0)
    parser.add_argument("--slow", action="append", default=[], metavar="DOMAIN:SECONDS")
    args = parser.parse_args()
    slow = {d.lower(): float(s) for d, s in (item.split(":") for item in args.slow)}
    handler = Handler(args.greylist_every, slow)
    controller = Controller(handler, hostname="127.0.0.1", port=args.port, ready_timeout=10)
    controller.start()
    stopping = []
    signal.signal(signal.SIGTERM, lambda *_: stopping.append(1))
    print("ready", flush=True)
    while not stopping:
        time.sleep(0.05)
    controller.stop()
    Path(args.out).write_text(json.dumps({
        "messages": handler.messages, "recipients": len(handler.recipients), "accepted": handler.accepted,
    }))


if __name__ == "__main__":
    main()
