"""Benchmark: article extraction from real pages, HTML and saved text, against the true text.

Scoring as the corpus README describes it: per page, the sets of 4-word shingles of the
extracted and the true text; precision and recall averaged over pages, F1 the harmonic
mean of the averages; ± is a bootstrap standard deviation over pages.  In the same run:
trafilatura on the HTML (the peer), and the whole saved text unfiltered (the text floor).
Title accuracy compares our title with the page's own ``og:title`` / ``<title>`` / ``<h1>``.
The pages are split in two halves by id (tune on one, check on the other): both are printed.
Last, all saved text pages are imported into one fresh workspace, to count the articles.

    .venv/bin/python bench/extraction.py [--corpus DIR] [--only text|html] [--show-worst N]
"""

from __future__ import annotations

import argparse
import gzip
import json
import random
import re
import statistics
import sys
import tempfile
import unicodedata
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

# ../shared/corpora beside the checkout (a worktree sits one folder deeper)
CORPUS = next((up / "shared" / "corpora" / "article-extraction" for up in Path(__file__).resolve().parents
               if (up / "shared" / "corpora" / "article-extraction").is_dir()), Path("article-extraction"))
TOKEN = re.compile(r"\w+")


def shingles(text: str, n: int = 4) -> set[tuple[str, ...]]:
    tokens = TOKEN.findall(text.lower())
    return {tuple(tokens[i:i + n]) for i in range(max(len(tokens) - n + 1, 1 if tokens else 0))}


def score(extracted: str, truth: str) -> tuple[float, float]:
    """(precision, recall) of one page; an empty side counts 0, both empty count 1."""
    got, want = shingles(extracted), shingles(truth)
    if not got and not want:
        return 1.0, 1.0
    if not got or not want:
        return 0.0, 0.0
    shared = len(got & want)
    return shared / len(got), shared / len(want)


def f1_of(pairs: list[tuple[float, float]]) -> tuple[float, float, float]:
    p = statistics.fmean(x for x, _ in pairs)
    r = statistics.fmean(y for _, y in pairs)
    return (2 * p * r / (p + r) if p + r else 0.0), p, r


def bootstrap_sd(pairs: list[tuple[float, float]], rounds: int = 300, seed: int = 11) -> float:
    rng = random.Random(seed)
    values = [f1_of([rng.choice(pairs) for _ in pairs])[0] for _ in range(rounds)]
    return statistics.pstdev(values)


def norm_title(text: str) -> str:
    text = unicodedata.normalize("NFKC", text).casefold()
    return " ".join(TOKEN.findall(text))


def true_titles(html: bytes) -> list[str]:
    """The page's own titles: og:title, <title> (whole and without a site-name part), <h1>s."""
    from bs4 import BeautifulSoup

    soup = BeautifulSoup(html, "lxml")
    found: list[str] = []
    for attrs in ({"property": "og:title"}, {"name": "twitter:title"}):
        tag = soup.find("meta", attrs=attrs)
        if tag is not None and tag.get("content"):
            found.append(str(tag["content"]))
    if soup.title and soup.title.string:
        whole = str(soup.title.string)
        found.append(whole)
        found.extend(re.split(r"\s+[|·•–—:-]+\s+|\s+::\s+", whole))
    found.extend(h.get_text(" ", strip=True) for h in soup.find_all("h1"))
    return [t for t in (norm_title(t) for t in found) if t]


def title_right(ours: str, titles: list[str]) -> bool:
    """Right when it equals one of the page's titles (or the page title with the site's name cut off)."""
    mine = norm_title(ours)
    if not mine:
        return False
    return any(mine == t or (len(mine) >= 0.6 * len(t) and mine in t and len(t.split()) > 2) for t in titles)


def load(corpus: Path) -> tuple[list[str], dict]:
    ids = [line.strip() for line in (corpus / "ids.txt").read_text().split() if line.strip()]
    truth = json.loads((corpus / "ground-truth.json").read_text(encoding="utf-8"))
    return ids, truth


def ours_text(text: str) -> tuple[str, str, str | None]:
    """(body text, title, error) from a saved text page with our reader."""
    from newsletter.articles.sanitise import html_to_text
    from newsletter.articles.text_source import parse_text_page
    from newsletter.errors import SourceError

    try:
        page, body = parse_text_page(text, site_name="", timezone="UTC")
    except SourceError as exc:
        return "", "", str(exc)
    return html_to_text(body), page.title, None


def ours_html(html: bytes) -> tuple[str, str, str | None]:
    from newsletter.articles.html_source import read_html
    from newsletter.articles.model import SourceContext
    from newsletter.articles.sanitise import html_to_text
    from newsletter.errors import SourceError

    ctx = SourceContext(origin="page.html", timezone="UTC", site_url="https://blog.example.com", site_name="")
    try:
        draft = read_html(html, ctx)[0]
    except SourceError as exc:
        return "", "", str(exc)
    return html_to_text(draft.body_html), draft.title, None


def peer_html(html: bytes) -> str:
    import trafilatura

    return trafilatura.extract(html.decode("utf-8", "replace")) or ""


def half_of(page_id: str, ids: list[str]) -> str:
    return "A" if sorted(ids).index(page_id) % 2 == 0 else "B"


def line(label: str, pairs: list[tuple[float, float]]) -> str:
    f1, p, r = f1_of(pairs)
    return f"  {label:<26} F1 {f1:.3f} ±{bootstrap_sd(pairs):.3f}   precision {p:.3f}   recall {r:.3f}   ({len(pairs)} pages)"


def run_side(kind: str, ids: list[str], truth: dict, corpus: Path, worst: int) -> list:
    """Score ours and the peer on every page of one kind; returns the harness's figures for all pages."""
    rows: dict[str, list] = {"us": [], "peer": []}
    titles_ok, failures, per_page = [], [], []
    for page_id in ids:
        html = gzip.decompress((corpus / "html" / f"{page_id}.html.gz").read_bytes())
        want = truth[page_id]["articleBody"]
        if kind == "html":
            got, title, error = ours_html(html)
            peer = peer_html(html)
        else:
            text = (corpus / "text" / f"{page_id}.txt").read_text(encoding="utf-8")
            got, title, error = ours_text(text)
            peer = text
        if error:
            failures.append((page_id, error))
        ours_pr, peer_pr = score(got, want), score(peer, want)
        rows["us"].append((page_id, ours_pr))
        rows["peer"].append((page_id, peer_pr))
        titles_ok.append((page_id, title_right(title, true_titles(html))))
        per_page.append((f1_of([ours_pr])[0], page_id, title))
    peer_name = "trafilatura" if kind == "html" else "whole text, unfiltered"
    print(f"\n{'HTML page' if kind == 'html' else 'saved text page'} ({len(ids)} pages)")
    for half in ("all", "A", "B"):
        chosen = [i for i in ids if half == "all" or half_of(i, ids) == half]
        label = "all pages" if half == "all" else f"half {half}"
        us = [pr for i, pr in rows["us"] if i in chosen]
        peer = [pr for i, pr in rows["peer"] if i in chosen]
        right = sum(ok for i, ok in titles_ok if i in chosen)
        print(f" {label}:")
        print(line("us", us))
        print(line(peer_name, peer))
        print(f"  {'ratio us / peer':<26} {f1_of(us)[0] / max(f1_of(peer)[0], 1e-9):.3f}")
        print(f"  {'titles right':<26} {right}/{len(chosen)} ({100 * right / len(chosen):.0f}%)")
    print(f"  failed: {len(failures)}")
    for page_id, error in failures:
        print(f"    {page_id[:12]}  {error}")
    if worst:
        print(f"  worst {worst} pages (F1, id, our title; * = title wrong):")
        wrong = {i for i, ok in titles_ok if not ok}
        for f1, page_id, title in sorted(per_page)[:worst]:
            print(f"    {f1:.3f}  {page_id[:12]}{'*' if page_id in wrong else ' '} {title[:70]!r}")
        for page_id in sorted(wrong):
            title = next(t for _, i, t in per_page if i == page_id)
            print(f"    title wrong: {page_id[:12]} {title[:80]!r}")
    from bench.harness import Figure

    every = [pr for _, pr in rows["us"]], [pr for _, pr in rows["peer"]]
    what = "HTML pages" if kind == "html" else "saved text pages"
    return [Figure(f"extraction F1, {len(ids)} {what}", f1_of(every[0])[0], f1_of(every[1])[0], "", peer_name),
            Figure(f"extraction titles right, {what}", 100 * sum(ok for _, ok in titles_ok) / len(ids), None, "%")]


def import_all(ids: list[str], corpus: Path) -> None:
    """All saved text pages into one workspace: one article each, none replacing another."""
    from newsletter.articles import all_articles, import_sources
    from newsletter.init import init_workspace

    with tempfile.TemporaryDirectory() as folder:
        ws = init_workspace(folder)
        report = import_sources(ws, [corpus / "text" / f"{i}.txt" for i in ids])
        stored = all_articles(ws)
        print(f"\nimport of {len(ids)} saved text pages into one workspace: {len(stored)} articles; "
              f"{report.summary()}")
        for entry in report.failed:
            print(f"    {entry.message}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--corpus", type=Path, default=CORPUS)
    parser.add_argument("--only", choices=("text", "html"))
    parser.add_argument("--show-worst", type=int, default=0, metavar="N")
    parser.add_argument("--no-import", action="store_true", help="skip the one-workspace import check")
    args = parser.parse_args()
    ids, truth = load(args.corpus)
    figures = []
    for kind in ("text", "html"):
        if args.only in (None, kind):
            figures += run_side(kind, ids, truth, args.corpus, args.show_worst)
    if not args.no_import and args.only in (None, "text"):
        import_all(ids, args.corpus)
    if args.corpus == CORPUS and args.only is None:  # the table holds the shared corpus, both kinds
        from bench.harness import record

        print()
        record("extraction", figures, notes="F1 of 4-word shingles, averaged over pages")


if __name__ == "__main__":
    main()
