"""Front matter from outside is bounded: no alias expansion, no huge fields, no endless tag lists."""

from __future__ import annotations

import resource
import time
from pathlib import Path

import pytest

from newsletter.articles import all_articles, import_sources
from newsletter.workspace import Workspace


def alias_bomb() -> str:
    """441 bytes of YAML whose ``tags`` expand to 9**9 (387 million) items if aliases are followed."""
    lines = ["title: Nine by nine", "a: &a [x,x,x,x,x,x,x,x,x]"]
    names = "abcdefghi"
    for previous, name in zip(names, names[1:], strict=False):
        lines.append(f"{name}: &{name} [" + ",".join([f"*{previous}"] * 9) + "]")
    lines.append("tags: *i")
    return "---\n" + "\n".join(lines) + "\n---\nBody.\n"


def _import_one(ws: Workspace, path: Path, text: str) -> str:
    path.write_text(text, encoding="utf-8")
    report = import_sources(ws, [path])
    assert report.counts["added"] == 0 and all_articles(ws) == []  # nothing stored
    [failure] = report.failed
    assert "\n" not in failure.message
    return failure.message


def test_an_alias_bomb_is_refused_at_once_and_nothing_is_stored(workspace: Workspace, tmp_path: Path) -> None:
    path = tmp_path / "bomb.md"
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    started = time.process_time()
    message = _import_one(workspace, path, alias_bomb())
    assert message.startswith(f"{path}:4: aliases (*name) are not allowed in front matter")
    # Not a speed test: a followed bomb takes minutes and gigabytes, a refused one nothing to speak of.
    assert time.process_time() - started < 60
    assert resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before < 200_000  # KiB


def test_one_alias_is_refused_too_with_its_line(workspace: Workspace, tmp_path: Path) -> None:
    text = "---\ntitle: Aliased\nbase: &base [run]\ntags: *base\n---\nBody.\n"
    assert _import_one(workspace, tmp_path / "alias.md", text).endswith(
        "alias.md:4: aliases (*name) are not allowed in front matter; write the value out")


@pytest.mark.parametrize(("front", "expected"), [
    ("title: " + "T" * 20_000, ":2: 'title' is 20,000 characters, more than the 500 allowed; shorten it"),
    ("title: Fine\nsummary: " + "s" * 6000, ":3: 'summary' is 6,000 characters, more than the 5,000 allowed"),
    ("title: Fine\ntags: [" + ", ".join(f"t{n}" for n in range(60)) + "]", ":3: 60 tags, more than the 50 allowed"),
    ("title: Fine\ntags: [" + "x" * 150 + "]", ":3: the tag 'xxxxxxxx"),
    ("title: Fine\nnotes: " + "n" * 70_000, ":1: front matter is 70,019 characters, more than the 65,536 allowed"),
    ("title: Deep\nx: " + "[" * 30 + "]" * 30, ":3: values nested more than 20 deep; flatten them"),
])
def test_front_matter_limits_name_the_line(workspace: Workspace, tmp_path: Path, front: str, expected: str) -> None:
    message = _import_one(workspace, tmp_path / "big.md", f"---\n{front}\n---\nBody.\n")
    assert expected in message, message


def test_a_heading_title_is_bounded_like_a_front_matter_one(workspace: Workspace, tmp_path: Path) -> None:
    message = _import_one(workspace, tmp_path / "heading.md", "# " + "H" * 1000 + "\n\nBody.\n")
    assert "'title' is 1,000 characters" in message


def test_ordinary_front_matter_still_imports(workspace: Workspace, tmp_path: Path) -> None:
    path = tmp_path / "fine.md"
    path.write_text("---\ntitle: Anchored but fine\ndefaults: &d {a: 1}\ntags: [" + ", ".join(
        f"t{n}" for n in range(50)) + "]\n---\nBody.\n", encoding="utf-8")
    report = import_sources(workspace, [path])
    assert report.counts["added"] == 1
    assert len(all_articles(workspace)[0].tags) == 50
