"""The vocabulary the settings are declared in: :class:`Key`, :class:`SectionSpec` and the registry.

``newsletter/settings.py`` declares every section with these; the loader, the
commented ``newsletter.toml`` that ``init`` writes and the README reference are
all derived from that one declaration.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from .errors import ConfigError

SCALARS = (bool, int, float, str)


@dataclass(frozen=True)
class Key:
    """One setting: its default (whose type is the setting's type), a one-line help and its limits.

    ``secret`` names the environment variable a secret comes from (the file refuses it);
    ``init`` writes the key uncommented in a new workspace's file; ``one_line`` marks
    values that go into mail headers, where a line break could forge a header.
    """

    name: str
    default: Any
    help: str
    min: float | None = None
    max: float | None = None
    choices: tuple[str, ...] = ()
    secret: str = ""
    init: bool = False
    one_line: bool = False

    @property
    def type(self) -> type:
        return type(self.default)

    @property
    def type_name(self) -> str:
        return {bool: "true/false", int: "integer", float: "number", str: "text", list: "list"}[self.type]

    def check(self, value: Any, where: str) -> Any:
        """``value`` as this key's type, or :class:`ConfigError` naming ``where`` and what is allowed."""
        kind = self.type
        if kind is list:
            if not isinstance(value, list) or not all(isinstance(v, SCALARS) for v in value):
                raise ConfigError(f"{where} must be a list like [\"a\", \"b\"], not {value!r}")
            return value
        if kind is float and isinstance(value, int) and not isinstance(value, bool):
            value = float(value)
        if kind is bool and not isinstance(value, bool):
            raise ConfigError(f"{where} must be true or false, not {value!r}")
        if not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
            raise ConfigError(f"{where} must be {'an' if kind is int else 'a'} {self.type_name}, not {value!r}")
        if self.choices and value not in self.choices:
            raise ConfigError(f"{where} = {value!r} is not one of {', '.join(map(repr, self.choices))}"
                              + closest_hint(str(value), self.choices))
        if self.min is not None and value < self.min:
            raise ConfigError(f"{where} = {value!r} is below the smallest allowed value, {self.min:g}")
        if self.max is not None and value > self.max:
            raise ConfigError(f"{where} = {value!r} is above the largest allowed value, {self.max:g}")
        return value

    def parse_env(self, raw: str, where: str) -> Any:
        """An environment variable's text as this key's type, then checked like a file value."""
        kind = self.type
        value: Any = raw
        try:
            if kind is bool:
                low = raw.strip().lower()
                if low not in {"1", "true", "yes", "on", "0", "false", "no", "off", ""}:
                    raise ValueError(raw)
                value = low in {"1", "true", "yes", "on"}
            elif kind is int:
                value = int(raw)
            elif kind is float:
                value = float(raw)
            elif kind is list:  # comma-separated items, numbers when the default holds numbers
                items = [part.strip() for part in raw.split(",") if part.strip()]
                value = [int(v) for v in items] if self.default and isinstance(self.default[0], int) else items
        except ValueError:
            raise ConfigError(f"{where}={raw!r} is not a valid {self.type_name}; fix or unset it") from None
        return self.check(value, where)

    def limits(self) -> str:
        """The allowed values in words (for the generated docs), or ''."""
        if self.choices:
            return "one of " + ", ".join(f'"{c}"' for c in self.choices)
        low, high = self.min, self.max
        if low is not None and high is not None:
            return f"{low:g} to {high:g}"
        if low is not None:
            return f"at least {low:g}"
        if high is not None:
            return f"at most {high:g}"
        return ""


@dataclass(frozen=True)
class SectionSpec:
    """One ``[section]``: its keys in order, a one-line help, and any named sub-tables.

    ``tables`` maps a key of the section to the spec every named table under it follows:
    ``tables={"providers": PROVIDER}`` accepts ``[delivery.providers.<name>]`` tables.
    """

    name: str
    help: str
    keys: tuple[Key, ...]
    tables: dict[str, SectionSpec] = field(default_factory=dict)

    def key(self, name: str) -> Key | None:
        for key in self.keys:
            if key.name == name:
                return key
        return None

    @property
    def names(self) -> list[str]:
        return [k.name for k in self.keys]

    def defaults(self) -> dict[str, Any]:
        values: dict[str, Any] = {k.name: k.default for k in self.keys}
        for table in self.tables:
            values[table] = {}
        return values


def closest_hint(name: str, candidates: Iterable[str]) -> str:
    """``"; did you mean `x`?"`` for the closest candidate (difflib), or ``""`` when none is close."""
    found = difflib.get_close_matches(name, list(candidates), n=1, cutoff=0.6)
    return f": did you mean `{found[0]}`?" if found else ""


class Registry:
    """The declared sections, in the order the file and the docs show them; open for additions."""

    def __init__(self) -> None:
        self.sections: dict[str, SectionSpec] = {}
        self.environment: dict[str, str] = {}  # NEWSLETTER_* variables that are not section keys

    def add(self, spec: SectionSpec) -> SectionSpec:
        if spec.name in self.sections:
            raise ValueError(f"settings section [{spec.name}] is declared twice")
        self.sections[spec.name] = spec
        return spec

    def add_table(self, section: str, table: str, spec: SectionSpec) -> None:
        """Accept ``[section.table.<name>]`` tables following ``spec`` (e.g. delivery providers)."""
        self.sections[section].tables[table] = spec

    def add_variable(self, name: str, help: str) -> None:
        """Declare an environment variable outside the sections (``NEWSLETTER_HOME``)."""
        self.environment[name] = help

    def secrets(self) -> dict[tuple[str, str], str]:
        """(section, key) -> the environment variable the secret comes from."""
        return {(s.name, k.name): k.secret for s in self.sections.values() for k in s.keys if k.secret}

    def defaults(self) -> dict[str, dict[str, Any]]:
        return {name: spec.defaults() for name, spec in self.sections.items()}
