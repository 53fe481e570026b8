"""The send part of ``make demo``: a few confirmed sample readers, and the issue sent into the demo Maildir."""

from __future__ import annotations

from typing import TYPE_CHECKING

import click

if TYPE_CHECKING:
    from . import Demo

# Made-up readers (example.org is reserved for examples); one name needs RFC 2047, one has none.
SAMPLE_READERS = [
    ("maya.lopez@example.org", "Maya López"),
    ("tom.okafor@example.org", "Tom Okafor"),
    ("ingrid.berg@example.org", "Ingrid Bergström"),
    ("sam.chen@example.org", "Sam Chen"),
    ("no.name@example.org", None),
]
CONSENT = "Demo reader: made up by 'make demo' to show a send."


def send_to_sample_readers(demo: Demo) -> None:
    """Add the sample readers as confirmed and send the demo issue to them through the Maildir transport."""
    from issues.send import send_issue
    from subscribers import register

    from . import newsletter_command

    ws = demo.workspace
    for address, name in SAMPLE_READERS:
        register(ws, address, name=name, source="demo", consent_text=CONSENT, confirmed=True)
    report = send_issue(ws, demo.issue_id or "latest")
    folder = ws.path(ws.settings.delivery.maildir)
    click.echo(f"Sent:       {report.summary()}")
    click.echo(f"            into the Maildir {folder} (one file per message in {folder / 'new'})")
    demo.summary.append(f"Read the sent messages:      mutt -f {folder}   (or open {folder / 'new'})")
    demo.summary.append(f"See how the send went:       {newsletter_command(demo)} issue status {report.issue_id}")
