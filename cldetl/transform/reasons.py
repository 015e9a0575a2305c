"""The exclusion reasons the transform writes by itself (not a mapping's own), for the mapping
guide (docs/mapping.md), read from the transform's code so the list cannot drift."""

from __future__ import annotations

import ast
import inspect
import textwrap

from cldetl.transform import DETAILS_UNUSED, columns, guidance_rules

__all__ = ["DETAILS_UNUSED", "automatic_reasons"]


def automatic_reasons() -> list[tuple[str, str]]:
    """The exclusion reasons cldetl writes by itself (not a mapping's own), with where each
    comes from, read from the transform so the list cannot drift."""
    tree = ast.parse(textwrap.dedent(inspect.getsource(guidance_rules.inclusion_reasons)))
    cases = next(
        node.value
        for node in ast.walk(tree)
        if isinstance(node, ast.Assign) and getattr(node.targets[0], "id", "") == "cases"
    )
    where = "the guidance's inclusion rules for the reporting period (Events (All))"
    period = [(case.elts[1].value, where) for case in cases.elts]
    return [
        (columns.NO_RULE, "no event rule or exclusion matched the record"),
        (columns.NO_PERSON, "the row's person is not in `person.source`"),
        *period,
        (
            columns.ORPHAN_CARER + "<that row's reason>",
            "an 'Unpaid carer known by association' row follows its record's event row",
        ),
        (columns.DUPLICATE_CARER, "one such row per carer and cared-for people"),
        (columns.NO_ROWS, "a record taken by a rule none of whose rows' `when` held"),
    ]
