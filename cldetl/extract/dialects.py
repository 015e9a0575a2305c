"""The dialects templates render for, and the names they use: table and column names checked
and quoted for the dialect (`t`), true/false flags (`flags`), a clear error for a name the
source does not give."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from sqlalchemy.dialects import mssql, oracle, postgresql, sqlite

from cldetl.errors import CldetlError, UsageError
from cldetl.mapping.model import IDENTIFIER

if TYPE_CHECKING:
    from sqlalchemy.engine import Dialect

DIALECTS = ("mssql", "postgresql", "oracle", "sqlite")
_DIALECT_CLASSES = {
    "mssql": mssql.dialect,
    "postgresql": postgresql.dialect,
    "oracle": oracle.dialect,
    "sqlite": sqlite.dialect,
}
_ALIASES = {"sqlserver": "mssql", "postgres": "postgresql", "pg": "postgresql"}


def dialect_for(name: str) -> Dialect:
    """A SQLAlchemy dialect to render and compile for, without a database."""
    key = _ALIASES.get(name.lower(), name.lower())
    if key not in _DIALECT_CLASSES:
        raise UsageError(f"dialect {name!r} is not one of {', '.join(DIALECTS)}.")
    return _DIALECT_CLASSES[key]()


def quote_identifier(dialect: Dialect, identifier: str) -> str:
    """`schema.table` checked part by part and quoted by the dialect where it needs quoting."""
    parts = identifier.split(".")
    if not all(IDENTIFIER.match(part) for part in parts):
        raise ValueError(identifier)
    preparer = dialect.identifier_preparer
    return ".".join(preparer.quote(part) for part in parts)


class MissingName(CldetlError):
    """A template used t.X or flags.X that the source's params do not give."""

    def __init__(self, kind: str, key: str) -> None:
        super().__init__(f"{kind}.{key}")
        self.kind, self.key = kind, key


class TemplateNames:
    """`t` and `flags` in templates: attribute or item access, a clear error when missing.

    Not a dict, so `t.items` or `t.values` mean identifiers of those names, not dict methods.
    """

    __slots__ = ("_kind", "_names")

    def __init__(self, kind: str, names: dict[str, Any]) -> None:
        self._kind, self._names = kind, names

    def __getattr__(self, key: str) -> Any:
        if key.startswith("_"):
            raise AttributeError(key)
        return self[key]

    def __getitem__(self, key: str) -> Any:
        try:
            return self._names[key]
        except KeyError:
            raise MissingName(self._kind, key) from None

    def __contains__(self, key: object) -> bool:
        return key in self._names
