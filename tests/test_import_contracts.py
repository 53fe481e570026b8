"""The package contracts, checked over every module's source (imports inside functions count too).

1. Layers: ``cli.py`` -> ``issues`` -> ``subscribers`` -> ``newsletter``; nothing imports a layer above it.
2. Public names only: from outside a gated package, only ``import pkg`` or ``from pkg import name``
   with ``name`` in the package's ``__init__`` (its ``__all__``) is allowed, never ``pkg.module``.
   The kernel ``newsletter`` is a set of public modules; its subpackages are gated like the others.
3. Own tables only: a table (or view) belongs to the gated package, else the top-level package,
   whose source creates it; SQL in any other package must not name it.

Each violation is reported as ``file:line: what``. ``KNOWN`` lists the ones waiting for a
conversion; a fixed one must leave the list (a stale entry fails too).
"""

from __future__ import annotations

import ast
import re
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent

# Lower number = lower layer. A module may import its own layer or lower ones.
LAYERS = {"newsletter": 0, "subscribers": 1, "issues": 2, "cli": 3}

# Packages whose __init__ says what others may use. Add a subpackage here once it has an __init__ API.
GATED = ("subscribers", "issues", "issues.inbound", "issues.build", "issues.send", "issues.preview", "issues.web", "newsletter.articles", "newsletter.related",
         "newsletter.transports", "newsletter.samples")

# The kernel: each of its top-level modules is public (newsletter.db, newsletter.workspace, ...).
KERNEL = "newsletter"

# cli.py (and a package's own command module) assembles each area's command group from these modules.
CLI_ENTRY_MODULES = {"cli"}

# Known violations, "path:imported module" -> why it is still here. Each entry is a file another
# change is rewriting now; once it is converted to the public names, delete its line here.
KNOWN: dict[str, str] = {
}


@dataclass(frozen=True)
class Violation:
    path: str
    line: int
    target: str
    what: str

    def __str__(self) -> str:
        return f"{self.path}:{self.line}: {self.what}"


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(REPO).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _product_files() -> list[Path]:
    files = [REPO / "cli.py"]
    for package in ("newsletter", "subscribers", "issues"):
        files += sorted((REPO / package).rglob("*.py"))
    return files


def _exports(package: str) -> set[str]:
    """The names a package's __init__ offers: its ``__all__`` if it has one, else every top-level name."""
    init = REPO / package.replace(".", "/") / "__init__.py"
    tree = ast.parse(init.read_text(encoding="utf-8"))
    names: set[str] = set()
    for node in tree.body:
        if isinstance(node, ast.Assign) and any(isinstance(t, ast.Name) and t.id == "__all__" for t in node.targets):
            return {ast.literal_eval(elt) for elt in node.value.elts}
        if isinstance(node, ast.ImportFrom | ast.Import):
            names.update((a.asname or a.name).split(".")[0] for a in node.names)
        elif isinstance(node, ast.FunctionDef | ast.ClassDef):
            names.add(node.name)
        elif isinstance(node, ast.Assign):
            names.update(t.id for t in node.targets if isinstance(t, ast.Name))
    return names


def _imports(path: Path, module: str) -> list[tuple[int, str, list[str]]]:
    """(line, imported module, names taken from it) for every import statement in the file."""
    is_package = path.name == "__init__.py"
    found = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found += [(node.lineno, alias.name, []) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = module.split(".")
                anchor = anchor[: len(anchor) - node.level + (1 if is_package else 0)]
                base = ".".join([*anchor, base] if base else anchor)
            found.append((node.lineno, base, [alias.name for alias in node.names]))
    return found


def _inside(module: str, package: str) -> bool:
    return module == package or module.startswith(package + ".")


def _gate(target: str, importer: str) -> str | None:
    """The innermost gated package holding ``target`` but not ``importer`` (where the import must stop)."""
    gates = [g for g in GATED if _inside(target, g) and not _inside(importer, g)]
    return max(gates, key=len) if gates else None


def _check_public(importer: str, target: str, names: list[str]) -> str | None:
    if importer == "cli" or importer.rpartition(".")[2] in CLI_ENTRY_MODULES:  # assembling the command groups
        if target.rpartition(".")[2] in CLI_ENTRY_MODULES or (names and set(names) <= CLI_ENTRY_MODULES):
            return None
    gate = _gate(target, importer)
    if gate is None:
        if _inside(target, KERNEL) and not _inside(importer, KERNEL) and target.count(".") > 1:
            return f"{target} is inside a kernel subpackage; import it from its package"
        return None
    if target != gate:
        return f"{target} is private to {gate}; use a name {gate.replace('.', '/')}/__init__.py exports"
    private = sorted(set(names) - _exports(gate) - {"*"})
    if private:
        return f"{', '.join(private)} not exported by {gate.replace('.', '/')}/__init__.py"
    return None


def check_file(path: Path, module: str) -> list[Violation]:
    """The contract's violations in one source file that holds ``module``."""
    found = []
    rel = str(path.relative_to(REPO)) if path.is_relative_to(REPO) else path.name
    layer = LAYERS[module.split(".")[0]]
    for line, target, names in _imports(path, module):
        top = target.split(".")[0]
        if top not in LAYERS:
            continue  # the standard library or a third-party package
        if LAYERS[top] > layer:
            found.append(Violation(rel, line, target, f"{module} imports {target}: {top} is a layer above"))
            continue
        problem = _check_public(module, target, names)
        if problem:
            found.append(Violation(rel, line, target, problem))
    return sorted(found, key=lambda v: v.line)


TABLE_DEFINITION = re.compile(r"CREATE\s+(?:TABLE|VIEW)\s+(?:IF\s+NOT\s+EXISTS\s+)?(\w+)", re.I)
TABLE_USE = re.compile(r"\b(?:FROM|JOIN|INTO|UPDATE|TABLE)\s+(\w+)", re.I)


def _owner(module: str) -> str:
    gates = [g for g in GATED if _inside(module, g)]
    return max(gates, key=len) if gates else module.split(".")[0]


def _strings(path: Path) -> list[tuple[int, str]]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    return [(n.lineno, n.value) for n in ast.walk(tree) if isinstance(n, ast.Constant) and isinstance(n.value, str)]


def table_owners(files: list[Path]) -> dict[str, str]:
    """{table or view: the package that creates it}."""
    owners = {}
    for path in files:
        for _, text in _strings(path):
            for name in TABLE_DEFINITION.findall(text):
                owners[name.lower()] = _owner(_module_name(path))
    return owners


def check_tables(path: Path, module: str, owners: dict[str, str]) -> list[Violation]:
    """SQL in this file that names a table another package owns."""
    rel = str(path.relative_to(REPO)) if path.is_relative_to(REPO) else path.name
    found = {}
    for line, text in _strings(path):
        for table in TABLE_USE.findall(text):
            owner = owners.get(table.lower())
            if owner and owner != _owner(module):
                found.setdefault(table.lower(), Violation(rel, line, f"table {table.lower()}",
                                                  f"SQL on {table}, a table of {owner}; call a function {owner} exports"))
    return sorted(found.values(), key=lambda v: v.line)


def violations() -> list[Violation]:
    files = _product_files()
    owners = table_owners(files)
    return [v for path in files for v in (check_file(path, _module_name(path))
                                          + check_tables(path, _module_name(path), owners))]


def test_imports_follow_the_layers_and_use_public_names_only():
    found = violations()
    unexpected = [str(v) for v in found if f"{v.path}:{v.target}" not in KNOWN]
    assert not unexpected, "import contract broken:\n" + "\n".join(unexpected)
    stale = sorted(set(KNOWN) - {f"{v.path}:{v.target}" for v in found})
    assert not stale, "fixed, so remove from KNOWN: " + ", ".join(stale)


def test_the_checker_sees_an_upward_and_a_private_import(tmp_path):
    """The contract can fail: a wrong-way import and a private-module import are both reported."""
    probe = tmp_path / "probe.py"
    probe.write_text("def f():\n    from issues.send.outbox import claim\n    from newsletter.related.schema import x\n"
                     "from subscribers import forget, load\nfrom newsletter.workspace import Workspace\n")
    assert [str(v) for v in check_file(probe, "subscribers.probe")] == [
        "probe.py:2: subscribers.probe imports issues.send.outbox: issues is a layer above",
        "probe.py:3: newsletter.related.schema is private to newsletter.related; "
        "use a name newsletter/related/__init__.py exports",
    ]
    assert [str(v) for v in check_file(probe, "cli")] == [
        "probe.py:2: issues.send.outbox is private to issues.send; use a name issues/send/__init__.py exports",
        "probe.py:3: newsletter.related.schema is private to newsletter.related; "
        "use a name newsletter/related/__init__.py exports",
        "probe.py:4: load not exported by subscribers/__init__.py",
    ]


def test_no_lazy_name_is_also_a_submodule_name():
    """A package exporting ``forget`` from a module also named ``forget`` loses the function to the module
    as soon as anything imports that module (the import system sets the package attribute)."""
    clashes = []
    for init in sorted(REPO.glob("*/**/__init__.py")):
        top = init.relative_to(REPO).parts[0]
        if top in {".venv", "build"} or "lazy_exports" not in init.read_text(encoding="utf-8"):
            continue
        for node in ast.parse(init.read_text(encoding="utf-8")).body:
            if isinstance(node, ast.Assign) and getattr(node.targets[0], "id", "") == "__getattr__":
                for name, where in ast.literal_eval(node.value.args[1]).items():
                    if where and ((init.parent / f"{name}.py").exists() or (init.parent / name).is_dir()):
                        clashes.append(f"{init.relative_to(REPO)}: {name}")
    assert not clashes, clashes
