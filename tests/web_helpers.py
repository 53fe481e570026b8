"""Helpers for the web tests: a built issue from real Markdown articles, mail read back from the Maildir."""

from __future__ import annotations

import mailbox
import re
from email import message_from_bytes, policy
from email.message import EmailMessage
from pathlib import Path
from urllib.parse import urlsplit

from newsletter.workspace import Workspace

WEEK = "2026-W47"

ARTICLES = [
    ("hill-repeats", "Hill repeats without the dread", "2026-11-17T08:00:00-05:00",
     "Short hills, walked back down, build power with less pounding than track intervals. "
     "Start with six and add one a week.", "/images/hills.jpg", "A runner climbing a short grassy hill"),
    ("protein-timing", "Does protein timing matter?", "2026-11-18T08:00:00-05:00",
     "Total protein over the day matters far more than the minute you drink a shake. "
     "Spread it over three or four meals and stop counting minutes.", "/images/bowl.jpg", ""),
    ("mobility-ten", "Ten minutes of mobility after desk days", "2026-11-20T08:00:00-05:00",
     "Hips and upper back stiffen first. Three slow movements for each, done daily, beat one long "
     "weekend session.", "", ""),
]


def write_articles(ws: Workspace) -> list[Path]:
    """Three Markdown articles of ``WEEK`` in the workspace's articles folder (one image lacks alt text)."""
    paths = []
    for slug, title, date, body, image, alt in ARTICLES:
        front = [f"title: {title!r}", f"date: {date!r}", f"url: 'https://blog.example.com/posts/{slug}'",
                 "tags: ['training']", "author: 'Robin Vale'"]
        if image:
            front.append(f"image: {image!r}")
        if alt:
            front.append(f"image_alt: {alt!r}")
        path = ws.articles_dir / f"{slug}.md"
        path.write_text("---\n" + "\n".join(front) + f"\n---\n\n{body}\n", encoding="utf-8")
        paths.append(path)
    return paths


def draft_issue(ws: Workspace) -> str:
    """Import the articles and build ``WEEK`` as a draft; returns its id."""
    from issues.build import build_issue
    from newsletter.articles import import_sources

    import_sources(ws, write_articles(ws))
    return build_issue(ws, WEEK).id


def sent_issue(ws: Workspace) -> str:
    """A draft, frozen and marked sent (as the sender leaves it)."""
    from issues.build import mark_sent
    from issues.send import freeze_issue

    issue_id = draft_issue(ws)
    freeze_issue(ws, issue_id)
    mark_sent(ws, issue_id)
    return issue_id


def messages_to(ws: Workspace, address: str) -> list[EmailMessage]:
    """Every message in the workspace Maildir addressed to ``address``, oldest first."""
    folder = ws.path(ws.settings.delivery.maildir)
    if not folder.exists():
        return []
    box = mailbox.Maildir(folder, create=False)
    found = []
    for key in box.keys():
        msg = message_from_bytes(box.get_bytes(key), policy=policy.default)
        if address.lower() in str(msg.get("To", "")).lower():
            found.append(msg)
    return sorted(found, key=lambda m: m["Date"].datetime if m["Date"] else 0)


def link_in(message: EmailMessage, kind: str) -> str:
    """The first ``/<kind>/<token>`` link in the text part of ``message``."""
    text = message.get_body(preferencelist=("plain",)).get_content()
    match = re.search(rf"https?://\S+/{kind}/[A-Za-z0-9._-]+", text)
    assert match, f"no /{kind}/ link in:\n{text}"
    return match.group(0)


def path_of(url: str) -> str:
    return urlsplit(url).path
