"""A heavy issue for the mail tests: twelve articles, each with an image, tags, a byline and related reading."""

from __future__ import annotations

from issue_fixtures import PARAGRAPH, import_folder, write_article

from issues.build import Issue, build_issue
from newsletter.workspace import Workspace

TAGS = ["running", "cramps", "recovery", "nutrition", "stretching", "sleep"]
WORDS = ("calf hamstring tempo interval hill marathon protein magnesium sodium caffeine evening morning "
         "mobility strength squat lunge deload taper foam roller shoes surface volume pace heart rate").split()


def _body(i: int) -> str:
    """A paragraph of its own for article ``i`` (distinct enough not to count as a near-duplicate)."""
    words = [WORDS[(i * 7 + k * k) % len(WORDS)] for k in range(40)]
    return PARAGRAPH + " " + " ".join(words) + ". " + PARAGRAPH


def twelve_article_issue(ws: Workspace) -> Issue:
    """Twelve long-titled articles in 2026-W47 and forty older ones (no article is linked twice in an issue)."""
    folder = ws.articles_dir
    for i in range(12):
        write_article(
            folder, f"w47-{i}", f"Article {i} of a heavy week: what the newest research on {TAGS[i % 6]} says",
            f"2026-11-{16 + i % 7}T{9 + i // 7:02d}:00:00-05:00",
            tags=[TAGS[i % 6], TAGS[(i + 1) % 6], "weekly", "evidence"],
            image=f"https://blog.example.com/images/w47-article-{i}-cover.jpg",
            image_alt="A runner on a long wet road at dawn, seen from behind", body=_body(i),
        )
    for i in range(40):
        write_article(
            folder, f"old-{i}", f"An older piece {i} on {TAGS[i % 6]} and {TAGS[(i + 1) % 6]} for runners",
            f"2026-{10 + i // 20}-{2 + i % 13:02d}T10:00:00-05:00", tags=[TAGS[i % 6], TAGS[(i + 1) % 6], "weekly", "evidence"],
            body=_body(100 + i),
        )
    import_folder(ws, folder)
    return build_issue(ws, "2026-W47")
