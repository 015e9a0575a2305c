"""What a starter says about the database beside its values: columns no row fills, the codes
each template value parameter's column holds, and parameters that match no row at all.

These notes are comments (yaml_text.comment makes database text safe in them); they point a
person at what to check, and never change a value.
"""

from __future__ import annotations

import difflib
import re
from dataclasses import dataclass

from sqlalchemy import column as sql_column
from sqlalchemy import func, inspect, select
from sqlalchemy import table as sql_table

from cldetl.extract.database import create_engine
from cldetl.mapping.template_declarations import declaration_for
from cldetl.onboarding import yaml_text
from cldetl.onboarding.reference import thresholds


def norm(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", " ", text.casefold()).strip()


def empty_columns_text(mapping, frames, connectors_dir) -> str:
    """Columns no row has a value in: usually a template parameter (a question code, a
    type) that does not match this install yet; the column's description names it."""

    lines = []
    for name, frame in frames.items():
        if frame.empty:
            lines.append(f"#   {name}: no rows at all (check its template parameters)")
            continue
        declaration = declaration_for(mapping, name, connectors_dir)
        about = declaration.column_about if declaration else {}
        for column in frame.columns:
            if frame[column].isna().all():
                lines.append(f"#   {name}.{column}: {about.get(column, 'no values')}")
    if not lines:
        return ""
    head = [
        "",
        "# Empty in every row read: check the parameter each description names (a question",
        "# code, status or type of this install), then run init-mapping or profile again.",
    ]
    return "\n".join(head + [yaml_text.comment(line) for line in lines])


@dataclass
class ParameterCodes:
    """A template value parameter naming a code column, and the codes that column holds."""

    source: str
    parameter: str
    table: str
    column: str
    found: dict[str, int]

    def listed(self) -> str:
        ordered = sorted(self.found.items(), key=lambda i: -i[1])
        return "; ".join(f"{v}: {n:,}" for v, n in ordered)

    def closest(self, value: str) -> str | None:
        keyed = {norm(v): v for v in self.found}
        best = difflib.get_close_matches(norm(value), keyed, n=1, cutoff=0)
        return keyed.get(best[0]) if best else None


def parameter_codes(mapping, connectors_dir, url: str) -> list[ParameterCodes]:
    """For each template value parameter whose description names a code column ("question
    code of the Route of Access"), the codes that column holds in the template's tables."""

    out: list[ParameterCodes] = []
    limits = thresholds()
    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            inspector = inspect(conn)
            tables = set(inspector.get_table_names())
            cache: dict[tuple[str, str], dict[str, int] | None] = {}
            for name, source in mapping.sources.items():
                declaration = declaration_for(mapping, name, connectors_dir)
                if declaration is None:
                    continue
                identifiers = source.params.identifiers if source.params else {}
                for pname, param in declaration.of_kind("values").items():
                    match = re.match(r"([a-z][a-z0-9_]*) of ", param.about)
                    if not match or param.required:
                        continue
                    code_column = match.group(1)
                    for ident, default_table in declaration.of_kind("identifiers").items():
                        table = identifiers.get(ident, default_table.default)
                        if table not in tables:
                            continue
                        names = {c["name"] for c in inspector.get_columns(table)}
                        if code_column not in names:
                            continue
                        if (table, code_column) not in cache:
                            query = (
                                select(sql_column(code_column), func.count())
                                .select_from(sql_table(table))
                                .group_by(sql_column(code_column))
                            )
                            found = {
                                str(v): int(n) for v, n in conn.execute(query) if v is not None
                            }
                            cache[(table, code_column)] = (
                                found if len(found) <= limits.max_codes else None
                            )
                        found = cache[(table, code_column)]
                        if found:
                            out.append(ParameterCodes(name, pname, table, code_column, found))
                        break
    finally:
        engine.dispose()
    return out


def parameter_values_text(sources: dict, codes: list[ParameterCodes]) -> str:
    """The value parameters as written (`sources` of the starter) against the codes their
    column holds: where a value is not found, this is where to look."""

    lines = []
    for found in codes:
        values = ((sources.get(found.source) or {}).get("params") or {}).get("values") or {}
        value = values.get(found.parameter)
        if value is None:
            continue
        written = value if isinstance(value, list) else [value]
        if all(str(d) in found.found for d in written):
            verdict = "present"
        else:
            guess = found.closest(str(written[0]))
            verdict = f"NOT FOUND; closest: {guess}" if guess else "NOT FOUND"
        lines.append(
            f"#   {found.source}.params.values.{found.parameter} = {written} ({verdict}); "
            f"{found.column} in {found.table}: {found.listed()}"
        )
    if not lines:
        return ""
    head = [
        "",
        "# The value parameters of the templates, and the codes their column holds here:",
        "# where a value is not found, set this install's code under the source's params.",
    ]
    return "\n".join(head + [yaml_text.comment(line) for line in lines])
