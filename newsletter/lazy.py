"""Names a package exports but imports only when first used (PEP 562), for parts with heavy imports.

A package's ``__init__`` lists what other packages may use (``__all__``) and where each name
lives; nothing is imported until a name is first read, so ``import issues.build`` costs
nothing and ``newsletter --help`` never loads MJML, numpy or trafilatura.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from importlib import import_module
from typing import Any


def lazy_exports(package: str, names: dict[str, str]) -> Callable[[str], Any]:
    """A module ``__getattr__`` for ``names`` = {name: "module" or "module:attribute"}; "" is the submodule ``name``.

    The value found is kept on the package, so later reads cost a plain attribute lookup.
    """

    def __getattr__(name: str) -> Any:
        if name not in names:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        where = names[name]
        if where == "":
            value = import_module(f"{package}.{name}")
        else:
            module, _, attribute = where.partition(":")
            value = getattr(import_module(f"{package}.{module}"), attribute or name)
        setattr(sys.modules[package], name, value)
        return value

    return __getattr__
