"""Packaging: an installed wheel carries every package, template and dependency the pipeline uses.

(Checked by hand too: build the wheel, install it into a fresh venv and run init, import of the
samples, build and render from outside the checkout.)
"""

from __future__ import annotations

import ast
import re
import sys
import tomllib
from importlib.metadata import PackageNotFoundError, packages_distributions, requires
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
CONF = tomllib.loads((REPO / "pyproject.toml").read_text())
OUR_PACKAGES = ("newsletter", "issues", "subscribers")


def _name(requirement: str) -> str:
    return re.sub(r"[-_.]+", "-", re.split(r"[<>=!~\[; (]", requirement.strip(), maxsplit=1)[0]).lower()


def _closure(names: set[str]) -> set[str]:
    """The distributions ``names`` need, directly or through their own requirements."""
    seen: set[str] = set()
    todo = list(names)
    while todo:
        name = todo.pop()
        if name in seen:
            continue
        seen.add(name)
        try:
            todo.extend(_name(r) for r in requires(name) or [] if "extra ==" not in r)
        except PackageNotFoundError:
            pass
    return seen


def _imported_modules() -> set[str]:
    found: set[str] = set()
    files = [REPO / "cli.py"] + [f for package in OUR_PACKAGES for f in (REPO / package).rglob("*.py")]
    for path in files:
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                found.update(alias.name.split(".")[0] for alias in node.names)
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                found.add(node.module.split(".")[0])
    return found - set(sys.stdlib_module_names) - {*OUR_PACKAGES, "cli", "newsletter_templates"}


def test_every_package_folder_is_in_the_wheel() -> None:
    listed = set(CONF["tool"]["setuptools"]["packages"])
    folders = {
        ".".join(init.parent.relative_to(REPO).parts)
        for package in OUR_PACKAGES
        for init in (REPO / package).rglob("__init__.py")
    }
    assert folders - listed == set(), "add these to [tool.setuptools] packages"
    assert CONF["tool"]["setuptools"]["package-dir"]["newsletter_templates"] == "templates"
    assert (REPO / "templates" / "__init__.py").is_file()


def test_every_imported_library_is_a_declared_dependency() -> None:
    declared = {_name(r) for r in CONF["project"]["dependencies"]}
    optional = {_name(r) for extra in CONF["project"]["optional-dependencies"].values() for r in extra}
    needed = _closure(declared)
    distributions = packages_distributions()
    missing = {}
    for module in sorted(_imported_modules()):
        providers = {_name(d) for d in distributions.get(module, [])}
        if not providers:  # not installed here: must be an optional extra (embeddings)
            assert _name(module) in optional, f"{module} is imported but provided by nothing declared"
        elif not providers & (needed | optional):  # an extra installed here (model2vec: test and static)
            missing[module] = sorted(providers)
    assert missing == {}, "declare these in pyproject.toml dependencies"


def test_the_html_reader_cleaning_module_is_declared() -> None:
    # trafilatura imports lxml.html.clean, which lxml (since 5.2) ships as the separate project
    # lxml_html_clean; lxml 6 no longer has the 'html_clean' extra that used to pull it in, so
    # a wheel install without it failed on every HTML page.
    import lxml.html.clean  # noqa: F401

    declared = {_name(r) for r in CONF["project"]["dependencies"]}
    assert {_name(d) for d in packages_distributions()["lxml_html_clean"]} <= declared
