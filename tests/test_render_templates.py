"""Jinja2 + MJML rendering: errors name the template and line; the editor's override folder wins."""

from __future__ import annotations

from pathlib import Path

import pytest

from newsletter.errors import TemplateError
from newsletter.personalise import placeholders
from newsletter.render import mjml_to_html, render_html_email, render_string, render_text, wrap_html_lines
from newsletter.workspace import Workspace

GOOD = """<mjml>
  <mj-body>
    <mj-section>
      <mj-column>
        <mj-text>Hello {{ who }}</mj-text>
{% include "partials/bit.mjml.j2" %}
      </mj-column>
    </mj-section>
  </mj-body>
</mjml>
"""
BIT = '        <mj-button href="{{ link }}">Go</mj-button>\n'


@pytest.fixture
def override(workspace: Workspace, monkeypatch: pytest.MonkeyPatch) -> tuple[Workspace, Path]:
    """A workspace whose [paths] templates points at its own folder of templates."""
    folder = workspace.root / "my-templates"
    (folder / "partials").mkdir(parents=True)
    (folder / "page.mjml.j2").write_text(GOOD)
    (folder / "partials" / "bit.mjml.j2").write_text(BIT)
    monkeypatch.setenv("NEWSLETTER_PATHS_TEMPLATES", "my-templates")
    return Workspace(workspace.root), folder


def test_mjml_template_renders_to_html_with_escaped_values(override) -> None:
    ws, _ = override
    html = render_html_email(ws, "page.mjml.j2", {"who": "<Tom & Jerry>", "link": 'https://x/?a=1&b="2"'})
    assert html.startswith("<!doctype html>")
    assert "Hello &lt;Tom &amp; Jerry&gt;" in html
    assert 'href="https://x/?a=1&amp;b=&#34;2&#34;"' in html


def test_unknown_variable_names_template_and_line(override) -> None:
    ws, folder = override
    with pytest.raises(TemplateError) as err:
        render_html_email(ws, "page.mjml.j2", {"link": "https://x"})
    assert str(err.value) == f"{folder}/page.mjml.j2:5: 'who' is undefined"


def test_unknown_variable_in_an_included_partial_names_the_partial(override) -> None:
    ws, folder = override
    with pytest.raises(TemplateError, match=rf"^{folder}/partials/bit.mjml.j2:1: 'link' is undefined$"):
        render_html_email(ws, "page.mjml.j2", {"who": "x"})


def test_jinja_syntax_error_names_template_and_line(override) -> None:
    ws, folder = override
    (folder / "page.mjml.j2").write_text(GOOD.replace("Hello {{ who }}", "Hello {{ who "))
    with pytest.raises(TemplateError, match=rf"^{folder}/page.mjml.j2:5: "):
        render_html_email(ws, "page.mjml.j2", {"who": "x", "link": "y"})


def test_invalid_mjml_names_template_and_line(override) -> None:
    ws, folder = override
    (folder / "partials" / "bit.mjml.j2").write_text('\n        <mj-button href="{{ link }}">Go\n')
    with pytest.raises(TemplateError) as err:
        render_html_email(ws, "page.mjml.j2", {"who": "x", "link": "y"})
    message = str(err.value)
    assert message.startswith(f"{folder}/partials/bit.mjml.j2:2: invalid MJML: <mj-button>")


def test_unknown_mjml_element_is_an_error(override) -> None:
    ws, folder = override
    (folder / "page.mjml.j2").write_text(GOOD.replace("<mj-column>", "<mj-colum>").replace("</mj-column>", "</mj-colum>"))
    with pytest.raises(TemplateError, match=rf"^{folder}/page.mjml.j2:4: invalid MJML: unknown MJML element <mj-colum>"):
        render_html_email(ws, "page.mjml.j2", {"who": "x", "link": "y"})


def test_mjml_broken_by_a_value_names_the_rendered_line() -> None:
    with pytest.raises(TemplateError, match=r"^x.mjml: rendered MJML line 2: "):
        mjml_to_html("<mjml><mj-body>\n<mj-section></mj-body></mjml>", "x.mjml")


def test_override_folder_wins_over_builtin_templates(workspace: Workspace, monkeypatch) -> None:
    folder = workspace.root / "tpl"
    (folder / "partials").mkdir(parents=True)
    (folder / "partials" / "footer.txt.j2").write_text("Our own footer for {{ site.name }}\n")
    context = {"site": {"name": "Weekly", "public_url": "https://n", "privacy_url": "", "postal_address": "1 St"},
               "reader": placeholders()}
    builtin = render_text(workspace, "partials/footer.txt.j2", context)
    assert "Unsubscribe" in builtin
    monkeypatch.setenv("NEWSLETTER_PATHS_TEMPLATES", str(folder))
    assert render_text(Workspace(workspace.root), "partials/footer.txt.j2", context) == "Our own footer for Weekly\n"


def test_edited_template_is_picked_up(override) -> None:
    ws, folder = override
    (folder / "note.txt.j2").write_text("one {{ n }}")
    assert render_text(ws, "note.txt.j2", {"n": 1}) == "one 1"
    import os

    (folder / "note.txt.j2").write_text("two {{ n }}")
    os.utime(folder / "note.txt.j2", (1e10, 1e10))
    assert render_text(ws, "note.txt.j2", {"n": 1}) == "two 1"


def test_missing_template_is_a_template_error(workspace: Workspace) -> None:
    with pytest.raises(TemplateError, match="template 'nope.txt.j2' not found"):
        render_text(workspace, "nope.txt.j2", {})


def test_render_string_names_its_label() -> None:
    assert render_string("#{{ n }}", {"n": 3}) == "#3"
    with pytest.raises(TemplateError, match=r"^newsletter.toml \[issue\] subject: 'nope' is undefined$"):
        render_string("{{ nope }}", {}, label="newsletter.toml [issue] subject")


def test_long_html_lines_are_split_without_touching_attribute_values() -> None:
    href = "https://x.example/" + "a b" * 300  # a quoted value with spaces, longer than a line
    html = f'<table><tr><td><p><a href="{href}">' + "word " * 400 + "</a></p></td></tr></table>"
    wrapped = wrap_html_lines(html, limit=100)
    assert f'href="{href}"' in wrapped
    assert wrapped.replace(">\n<", "><").replace("\n", " ") == html  # only newlines added, at spaces or tags
    assert max(len(line) for line in wrapped.split("\n") if href not in line) <= 105
    assert wrapped.startswith("<table>\n<tr>\n<td>\n<p>")


def test_mjml_python_parse_errors_name_the_rendered_line() -> None:
    source = "<mjml><mj-head>\n<mj-title>a</mj-title>  <mj-preview>b</mj-preview></mj-head><mj-body></mj-body></mjml>"
    with pytest.raises(TemplateError, match=r"^t.mjml: rendered MJML line 2: unexpected token in root template near "):
        mjml_to_html(source, "t.mjml")


def test_builtin_templates_are_named_from_the_templates_folder() -> None:
    with pytest.raises(TemplateError, match=r"^templates/issue.mjml.j2:3: 'site' is undefined$"):
        render_html_email(None, "issue.mjml.j2", {})
    context = {"site": {"language": "en"}, "issue": {"subject": "s", "preheader": "p"}}
    with pytest.raises(TemplateError, match=r"^templates/partials/masthead.mjml.j2:5: 'view_url' is undefined$"):
        render_html_email(None, "issue.mjml.j2", context)


def test_a_templates_folder_that_does_not_exist_is_an_error_not_ignored(workspace: Workspace, monkeypatch) -> None:
    from newsletter.errors import ConfigError

    monkeypatch.setenv("NEWSLETTER_PATHS_TEMPLATES", "my-tempaltes")  # a typo would drop every override
    ws = Workspace(workspace.root)
    with pytest.raises(ConfigError, match=r"^\[paths\] templates = 'my-tempaltes': there is no folder .*my-tempaltes; "
                                          "create it, fix the path"):
        render_text(ws, "partials/footer.txt.j2", {})


def test_an_element_in_the_wrong_place_is_an_error_naming_the_line(override) -> None:
    ws, folder = override
    # Text straight in a section (no column): mjml-python would render it, MJML's own validator refuses it.
    (folder / "page.mjml.j2").write_text(GOOD.replace("      <mj-column>\n", "").replace("      </mj-column>\n", ""))
    with pytest.raises(TemplateError, match=rf"^{folder}/page.mjml.j2:4: invalid MJML: <mj-text> cannot go inside "
                                            r"<mj-section> \(opened on line 3\)$"):
        render_html_email(ws, "page.mjml.j2", {"who": "x", "link": "y"})
    # In a partial, the fault is found once the parts are put together, on the rendered line.
    include = '{% include "partials/bit.mjml.j2" %}\n'
    (folder / "page.mjml.j2").write_text(GOOD.replace(include, "").replace("      </mj-column>\n",
                                                                          "      </mj-column>\n" + include))
    with pytest.raises(TemplateError, match=rf"^{folder}/page.mjml.j2: rendered MJML line 7: <mj-button> cannot go "
                                            r"inside <mj-section> \(opened on line 3\)$"):
        render_html_email(ws, "page.mjml.j2", {"who": "x", "link": "y"})
