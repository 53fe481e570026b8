"""Real pages in: a saved blog page with its chrome, pages without a URL (--url, articles
edit, the build refusing them), collisions that must never replace an article, slugs."""

from __future__ import annotations

import json
from datetime import date

from newsletter.articles import all_articles, get_article, import_sources, slugify
from newsletter.articles.importer import NO_URL_NOTE

# An old blog's article page as a browser saves it: the analytics snippet's lone word first,
# the menu, then the article, then a related list, an author box, a pitch and the footer.
OLD_BLOG_PAGE = """\
fbpx
Trail & Tarmac
Home
Training
Nutrition
Gear
Contact
Search

Strides: The Four Minutes That Make Easy Runs Count

Posted on 14 October 2026 by Jo Reyes
Share
Tweet
Pin

Strides are short, relaxed accelerations of about twenty seconds that you add to the end of an easy run. They teach the legs to move quickly without strain, and they cost almost nothing in fatigue.

Most runners who skip them do so because they seem too small to matter. Yet four or six strides, twice a week, keep a good running form alive through the long weeks of slow base training.

How to run them
Find a flat stretch of road or grass about a hundred metres long. Build up to roughly the pace you could hold for a mile, hold it for a few seconds, then ease off before you feel any strain.

Walk or jog back slowly, and start the next one only when your breathing has settled completely.

Common mistakes
- Sprinting flat out instead of staying relaxed.
- Running them on tired legs after a hard session.
- Resting too little between them.

Comments
A share bar's button, not the end of the article: the advice holds for beginners and experienced runners alike, as long as the effort stays controlled and the form stays loose.

References:
1. Hayes P., Caplan N. Foot strike patterns and ground contact times during high-calibre middle-distance races. Journal of Sports Sciences, 2012.
2. Paavolainen L. et al. Explosive-strength training improves 5-km running time. Journal of Applied Physiology, 1999.
3. Barnes K. R., Kilding A. E. Strategies to improve running economy. Sports Medicine, 2015.
4. Saunders P. U. et al. Factors affecting running economy in trained distance runners. Sports Medicine, 2004.
5. Moore I. S. Is there an economical running technique? Sports Medicine, 2016.

Related Articles By Jo Reyes:
Hill Repeats for Runners Who Hate Hills
Why Your Long Run Feels Harder in Autumn
The Case for a Slower Easy Pace
Five Drills Before Every Workout

Hi, I'm Jo Reyes
Coach
Writer
Runner

Get the free weekly newsletter
Join 12,000 runners. Your email address
Subscribe

Privacy Policy
Terms
© 2026 Trail & Tarmac
"""


def _saved(tmp_path, name: str, text: str):
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def test_old_blog_page_keeps_the_article_and_drops_its_chrome(workspace, tmp_path):
    page = _saved(tmp_path, "strides.txt", OLD_BLOG_PAGE)
    report = import_sources(workspace, [page])
    entry = report.entries[0]
    assert entry.status == "added", entry
    assert entry.title == "Strides: The Four Minutes That Make Easy Runs Count"
    assert entry.notes[0].startswith("kept ") and "dropped as page chrome" in entry.notes[0]
    assert NO_URL_NOTE in entry.notes and NO_URL_NOTE in entry.line()
    article = get_article(workspace, entry.article_id)
    assert article.author == "Jo Reyes"
    assert article.published_at.date() == date(2026, 10, 14)
    html = article.body_html
    assert html.startswith("<p>Strides are short, relaxed accelerations")
    assert "<h2>How to run them</h2>" in html and "<h2>Common mistakes</h2>" in html
    assert html.count("<li>Sprinting flat out") == 1
    assert "the advice holds for beginners" in html  # "Comments" did not end the article
    references = html.split("<h2>References</h2>", 1)[1]
    assert references.count("<li>") == 5 and "<li>Hayes P., Caplan N." in references
    for chrome in ("fbpx", "Trail &amp; Tarmac", "Training</", "Related Articles", "Hill Repeats", "Hi, I",
                   "Coach", "newsletter", "Subscribe", "Privacy", "©", "Tweet"):
        assert chrome not in html, chrome


def test_pages_whose_titles_slugify_alike_never_replace_each_other(workspace, tmp_path):
    body = "\n\n{}\n\nThe rest of the story follows here, told at length for anyone who wants to read it all.\n"
    first = _saved(tmp_path, "a.txt", "엘제이의 리벤지인가\n\n" + body.format("첫 번째 기사의 본문입니다. " * 6))
    second = _saved(tmp_path, "b.txt", "류화영의 코스프레인가\n\n" + body.format("두 번째 기사의 본문입니다. " * 6))
    assert import_sources(workspace, [first]).counts["added"] == 1
    assert import_sources(workspace, [second]).counts["added"] == 1
    stored = all_articles(workspace)
    assert len(stored) == 2 and len({a.slug for a in stored}) == 2
    assert {a.title for a in stored} == {"엘제이의 리벤지인가", "류화영의 코스프레인가"}
    again = import_sources(workspace, [first])  # the same file again: the same article
    assert again.counts["unchanged"] == 1 and len(all_articles(workspace)) == 2


def test_two_sources_landing_on_one_url_is_an_error_naming_both(workspace, tmp_path):
    (tmp_path / "old").mkdir()
    (tmp_path / "new").mkdir()
    text = "---\ntitle: {}\ndate: 2026-11-10\n---\n\nA paragraph about {}.\n"
    one = tmp_path / "old" / "deload.md"
    two = tmp_path / "new" / "deload.md"
    one.write_text(text.format("Deload Weeks", "resting"))
    two.write_text(text.format("Something Else", "another topic"))
    assert import_sources(workspace, [one]).counts["added"] == 1
    report = import_sources(workspace, [two])
    assert report.counts["failed"] == 1
    message = report.failed[0].message
    assert str(two) in message and str(one.resolve()) in message and "https://blog.example.com/deload" in message
    kept = get_article(workspace, "https://blog.example.com/deload")
    assert kept.title == "Deload Weeks"  # nothing was overwritten


def test_url_flow_through_issue_build(cli, workspace, tmp_path):
    page = _saved(tmp_path, "strides.txt", OLD_BLOG_PAGE)
    imported = cli("articles", "import", str(page))
    assert imported.exit_code == 0, imported.output
    assert "no public URL" in imported.output and '"Strides: The Four Minutes' in imported.output
    article = all_articles(workspace)[0]
    assert article.url == ""

    refused = cli("issue", "build", "--week", "2026-W42")
    assert refused.exit_code == 1
    assert "no public URL" in str(refused.exception)
    assert f"articles edit {article.id} --url" in str(refused.exception)

    shown = cli("articles", "show", str(article.id))
    assert shown.exit_code == 0 and "(none yet" in shown.output and "Strides are short" in shown.output

    edited = cli("articles", "edit", str(article.id), "--url", "https://blog.example.com/strides?utm_source=x")
    assert edited.exit_code == 0, edited.output
    built = cli("issue", "build", "--week", "2026-W42", "--json")
    assert built.exit_code == 0, built.output
    issue = json.loads(built.output)
    assert issue["items"][0]["url"].startswith("https://blog.example.com/strides?")

    # importing the page again with --url updates the same article, it does not add another
    again = cli("articles", "import", str(page), "--url", "https://blog.example.com/strides-v2")
    assert again.exit_code == 0, again.output
    assert [a.url for a in all_articles(workspace)] == ["https://blog.example.com/strides-v2"]
    two = cli("articles", "import", str(page), str(page), "--url", "https://blog.example.com/x")
    assert two.exit_code == 2 and "exactly one SOURCE" in two.output


def test_edit_refuses_a_url_another_article_has(cli, workspace, tmp_path):
    first = _saved(tmp_path, "one.txt", OLD_BLOG_PAGE)
    second = _saved(tmp_path, "two.txt", OLD_BLOG_PAGE.replace("Strides: The Four", "Strides, Again: The Four"))
    assert cli("articles", "import", str(first), "--url", "https://blog.example.com/strides").exit_code == 0
    assert cli("articles", "import", str(second)).exit_code == 0
    other = [a for a in all_articles(workspace) if not a.url][0]
    refused = cli("articles", "edit", str(other.id), "--url", "https://blog.example.com/strides/")
    assert refused.exit_code == 1 and "already the URL of article" in str(refused.exception)
    assert cli("articles", "edit", str(other.id), "--url", "ftp://x").exit_code == 1


def test_slugs_of_other_scripts():
    assert slugify("Все диеты по алфавиту") == "vse-diety-po-alfavitu"
    assert slugify("Ça va, Zoë?") == "ca-va-zoe"
    assert slugify("¡¿!") != slugify("!!!") and slugify("¡¿!").startswith("article-")


def _stored_before_round_one(workspace, source: str, url: str, slug: str) -> int:
    """An article as an earlier version stored a saved page: a relative source path, a junk
    title, and (for a page without a URL) an address made up from that title."""
    from newsletter.articles.store import articles_db

    fields = {"url": url, "slug": slug, "title": slug, "published_at": "2026-10-14T08:00:00+00:00",
              "body_html": "<p>fbpx</p>", "body_text": "fbpx", "tags": "[]", "source": source,
              "content_hash": "old", "imported_at": "2026-10-15T08:00:00+00:00",
              "updated_at": "2026-10-15T08:00:00+00:00"}
    db = articles_db(workspace)
    db["articles"].insert(fields)
    return db.execute("SELECT id FROM articles WHERE slug = ?", [slug]).fetchone()[0]


def test_a_page_stored_by_an_earlier_version_is_the_same_article(workspace, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    page = _saved(tmp_path, "strides.txt", OLD_BLOG_PAGE)
    old_id = _stored_before_round_one(workspace, "text:strides.txt", "https://blog.example.com/fbpx", "fbpx")

    report = import_sources(workspace, [page.resolve()])
    entry = report.entries[0]
    assert entry.status == "updated" and entry.article_id == old_id, entry
    assert "https://blog.example.com/fbpx was made up" in entry.line()
    assert f"articles edit {old_id} --url" in entry.message
    [article] = all_articles(workspace)  # no second article
    assert article.title.startswith("Strides: The Four Minutes") and article.url == ""
    assert article.slug == "fbpx"  # links by slug stay stable
    assert article.source == f"text:{page.resolve()}"
    again = import_sources(workspace, [page])
    assert again.counts["unchanged"] == 1 and len(all_articles(workspace)) == 1


def test_an_earlier_address_given_by_hand_or_stated_by_the_page_wins(workspace, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    given = _saved(tmp_path, "given.txt", OLD_BLOG_PAGE)
    _stored_before_round_one(workspace, "text:given.txt", "https://blog.example.com/2026/strides", "fbpx")
    with_url = OLD_BLOG_PAGE.replace("Trail & Tarmac\n", "Trail & Tarmac\nhttps://blog.example.com/posts/strides-2\n", 1)
    stated = _saved(tmp_path, "stated.txt", with_url.replace("Strides: The Four", "Strides Again: The Four"))
    _stored_before_round_one(workspace, "text:stated.txt", "https://blog.example.com/fbpx-2", "fbpx-2")

    report = import_sources(workspace, [given, stated])
    assert report.counts == {"added": 0, "updated": 2, "unchanged": 0, "skipped": 0, "failed": 0}, report.entries
    assert "made up" not in report.entries[0].line()
    assert sorted(a.url for a in all_articles(workspace)) == [
        "https://blog.example.com/2026/strides", "https://blog.example.com/posts/strides-2"]
