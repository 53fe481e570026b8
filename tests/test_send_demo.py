"""``make demo`` sends the demo issue to its sample readers into the demo Maildir."""

from __future__ import annotations

import mailbox
from email import message_from_bytes, policy
from pathlib import Path

from demo import run_demo
from demo.send import SAMPLE_READERS
from issues.send import outbox


def test_demo_sends_to_the_sample_readers(tmp_path: Path) -> None:
    demo = run_demo(tmp_path / "demo")
    box = mailbox.Maildir(demo.root / "outbox", create=False)
    messages = [message_from_bytes(box.get_bytes(key), policy=policy.default) for key in box.keys()]
    assert sorted(m["To"].addresses[0].addr_spec for m in messages) == sorted(a for a, _ in SAMPLE_READERS)
    assert all(m.get_content_type() == "multipart/alternative" and m["List-Unsubscribe"] for m in messages)
    assert outbox.counts(demo.workspace, demo.issue_id)["sent"] == len(SAMPLE_READERS)
    assert any("issue status" in line for line in demo.summary)
