"""Reading ``newsletter.toml`` and ``NEWSLETTER_*`` variables against the declared settings.

Every value is checked against its :class:`~newsletter.settings_spec.Key`; an unknown
section, key or variable is an error that names the file and line (or the variable)
and the closest valid name, because a typo that is silently ignored sends mail the
wrong way.  Secrets are refused in the file wherever they appear.
"""

from __future__ import annotations

import re
import tomllib
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from .errors import ConfigError
from .settings_spec import Registry, SectionSpec, closest_hint

_HEADER = re.compile(r"^\s*\[(?!\[)\s*([^\]]+?)\s*\]")
_KEY = re.compile(r"""^\s*((?:"[^"]*"|'[^']*'|[A-Za-z0-9_-]+)(?:\s*\.\s*(?:"[^"]*"|'[^']*'|[A-Za-z0-9_-]+))*)\s*=""")
_SECRET_NAMES = {"password", "passwd", "secret", "secret_key", "signing_key", "private_key", "api_key", "token"}
_SECRET_SUFFIXES = ("_password", "_secret", "_private_key", "_api_key", "_token")
_PRIVATE_KEY = "PRIVATE KEY-----"


def _parts(dotted: str) -> tuple[str, ...]:
    return tuple(p.strip().strip("\"'") for p in re.findall(r""""[^"]*"|'[^']*'|[^.]+""", dotted))


def locate_lines(text: str) -> dict[tuple[str, ...], int]:
    """Line numbers of tables and keys: ``("delivery",)`` -> its header line, ``("delivery", "rate")`` -> its key line."""
    lines: dict[tuple[str, ...], int] = {}
    table: tuple[str, ...] = ()
    for number, line in enumerate(text.splitlines(), 1):
        header = _HEADER.match(line)
        if header:
            table = _parts(header.group(1))
            lines.setdefault(table, number)
            continue
        key = _KEY.match(line)
        if key:
            lines.setdefault(table + _parts(key.group(1)), number)
    return lines


class _Where:
    """Names a place in the settings file: ``newsletter.toml line 12``."""

    def __init__(self, path: Path, lines: dict[tuple[str, ...], int]) -> None:
        self.path, self.lines = path, lines

    def line(self, *parts: str) -> str:
        found = self.lines.get(tuple(parts))
        return f"line {found}" if found else "somewhere"

    def __call__(self, *parts: str) -> str:
        return f"{self.path}, {self.line(*parts)}"


def _looks_secret(name: str, value: Any) -> bool:
    low = name.lower()
    if low in _SECRET_NAMES or low.endswith(_SECRET_SUFFIXES):
        return True
    return isinstance(value, str) and _PRIVATE_KEY in value


def _secret_advice(registry: Registry, path: tuple[str, ...], value: Any) -> str:
    declared = registry.secrets().get((path[0], path[1])) if len(path) == 2 else None
    if declared:
        return f"set {declared} in the environment instead"
    if isinstance(value, str) and _PRIVATE_KEY in value:
        return "keep the key in its own file (mode 0600) and point [dkim] key_file at it"
    if path[-1].lower() in ("secret", "secret_key", "signing_key"):
        return "set NEWSLETTER_SECRET_KEY in the environment (or let the workspace make its key file)"
    return f"set NEWSLETTER_{'_'.join(path).upper()} in the environment instead"


def refuse_secrets(registry: Registry, data: Mapping[str, Any], where: _Where,
                   path: tuple[str, ...] = ()) -> None:
    """Refuse a password, key or token anywhere in the file, known section or not."""
    for name, value in data.items():
        here = (*path, name)
        if isinstance(value, Mapping):
            refuse_secrets(registry, value, where, here)
            continue
        declared = len(here) == 2 and here in registry.secrets()
        if declared or (_looks_secret(name, value) and value not in ("", None)):
            shown = f"[{'.'.join(path)}] {name}" if path else name
            raise ConfigError(f"{where(*here)}: {shown} is a secret, and secrets do not go in the settings file "
                              f"(it gets committed); remove it and {_secret_advice(registry, here, value)}")


def _unknown_key(spec: SectionSpec, registry: Registry, name: str, where: str, table: str) -> ConfigError:
    hint = closest_hint(name, spec.names + list(spec.tables))
    if not hint:
        homes = [s.name for s in registry.sections.values() if s.key(name)]
        hint = f": `{name}` is a key of [{homes[0]}]" if homes else f"; the keys of [{table}] are " + \
            ", ".join(spec.names)
    return ConfigError(f"unknown key `{name}` in [{table}], {where}{hint}")


def _check_table(registry: Registry, spec: SectionSpec, table: Mapping[str, Any], into: dict[str, Any],
                 origins: dict[tuple[str, str], str], where: _Where, path: tuple[str, ...]) -> None:
    shown = ".".join(path)
    for name, value in table.items():
        key = spec.key(name)
        if key is None and name in spec.tables:
            if not isinstance(value, Mapping) or not all(isinstance(v, Mapping) for v in value.values()):
                raise ConfigError(f"{where(*path, name)}: [{shown}.{name}] holds named tables, like "
                                  f"[{shown}.{name}.<name>]")
            for child, child_table in value.items():
                values = into[name].setdefault(child, spec.tables[name].defaults())
                _check_table(registry, spec.tables[name], child_table, values, origins, where, (*path, name, child))
            continue
        if key is None:
            raise _unknown_key(spec, registry, name, f"{where.path} {where.line(*path, name)}", shown)
        if isinstance(value, Mapping):
            raise ConfigError(f"{where(*path, name)}: [{shown}] {name} must be a single value, not a table")
        into[name] = key.check(value, f"{where(*path, name)}: [{shown}] {name}")
        origins[(shown, name)] = f"{where.path} {where.line(*path, name)}"


def read_settings_file(registry: Registry, path: Path, values: dict[str, dict[str, Any]],
                       origins: dict[tuple[str, str], str]) -> None:
    """Check ``path`` against the declared sections and merge its values into ``values``."""
    try:
        text = path.read_text(encoding="utf-8")
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: {exc}; fix the TOML syntax there") from None
    except UnicodeDecodeError:
        raise ConfigError(f"{path}: not UTF-8 text") from None
    where = _Where(path, locate_lines(text))
    refuse_secrets(registry, data, where)
    for name, table in data.items():
        spec = registry.sections.get(name)
        if not isinstance(table, Mapping):
            homes = [s.name for s in registry.sections.values() if s.key(name)]
            advice = f"put it under [{homes[0]}]" if homes else "settings live in [section] tables"
            raise ConfigError(f"{where(name)}: `{name}` is outside any [section]; {advice}")
        if spec is None:
            hint = closest_hint(name, registry.sections)
            hint = hint.replace("`", "[", 1).replace("`", "]", 1) if hint else \
                "; the sections are " + ", ".join(f"[{s}]" for s in registry.sections)
            raise ConfigError(f"unknown section [{name}] in {where(name)}{hint}")
        _check_table(registry, spec, table, values[name], origins, where, (name,))


def _env_targets(registry: Registry, values: dict[str, dict[str, Any]]) -> dict[str, tuple]:
    """Every variable name a key answers to -> (section values, key spec, section name)."""
    targets: dict[str, tuple] = {}
    for spec in registry.sections.values():
        for key in spec.keys:
            targets[f"NEWSLETTER_{spec.name}_{key.name}".upper()] = (values[spec.name], key, spec.name)
    return targets


def _named_table_target(registry: Registry, variable: str, values: dict[str, dict[str, Any]]) -> tuple | None:
    """``NEWSLETTER_DELIVERY_PROVIDERS_<NAME>_<KEY>`` -> (that table's values, key spec, label), else None."""
    for spec in registry.sections.values():
        for table, child in spec.tables.items():
            prefix = f"NEWSLETTER_{spec.name}_{table}_".upper()
            if not variable.startswith(prefix):
                continue
            rest = variable[len(prefix):]
            for key in child.keys:
                suffix = "_" + key.name.upper()
                if rest.endswith(suffix) and len(rest) > len(suffix):
                    name = rest[: -len(suffix)].lower()
                    into = values[spec.name][table].setdefault(name, child.defaults())
                    return into, key, f"{spec.name}.{table}.{name}"
    return None


def apply_environment(registry: Registry, environ: Mapping[str, str], values: dict[str, dict[str, Any]],
                      origins: dict[tuple[str, str], str]) -> None:
    """Apply ``NEWSLETTER_<SECTION>_<KEY>`` overrides; a variable that matches no setting is an error."""
    targets = _env_targets(registry, values)
    for variable in sorted(environ):
        if not variable.startswith("NEWSLETTER_") or variable in registry.environment:
            continue
        target = targets.get(variable) or _named_table_target(registry, variable, values)
        if target is None:
            hint = closest_hint(variable, [*targets, *registry.environment])
            raise ConfigError(f"environment variable {variable} matches no setting{hint or ''}"
                              f"{'' if hint else '; see the settings reference in the README'}; "
                              "rename or unset it")
        into, key, section = target
        into[key.name] = key.parse_env(environ[variable], variable)
        origins[(section, key.name)] = variable
