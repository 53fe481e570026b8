"""Names a package exports but imports only when first used (PEP 562), for parts with heavy imports."""

from __future__ import annotations

from collections.abc import Callable
from importlib import import_module
from typing import Any


def lazy_exports(package: str, names: dict[str, str]) -> Callable[[str], Any]:
    """A module ``__getattr__`` giving ``name`` from ``package.<module>``, for ``names`` = {name: "module:attr"}."""

    def __getattr__(name: str) -> Any:
        if name not in names:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        module, _, attribute = names[name].partition(":")
        return getattr(import_module(f"{package}.{module}"), attribute or name)

    return __getattr__
