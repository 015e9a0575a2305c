"""The lookups section of a starter mapping, the codes its rules filter on, and the skeleton
of its tests: every code found in the database, a CLD value only where it is certain.

A code's value is written active only when certain (suggestions.suggest: a national list the
whole column fits, the spelling of a CLD value, or the example mapping the same code). Every
other code is written as a comment line, `# unchecked "<code>": <rows>; <candidates>`, so it
maps to nothing, is reported as unmapped, and carries the candidates the review chooses from.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import pandas as pd

from cldetl.onboarding import yaml_text
from cldetl.onboarding.code_lists import load_code_lists, national_fit
from cldetl.onboarding.reference import Thresholds
from cldetl.onboarding.suggestions import Suggestion, suggest
from cldetl.onboarding.usages import code_counts, filter_usages
from cldetl.transform.filters import as_text

if TYPE_CHECKING:
    from cldetl.mapping import Mapping
    from cldetl.spec import Spec


@dataclass
class LookupCodes:
    """What the lookups section holds, for the console: the same suggestion objects the file's
    notes were written from."""

    certain: int = 0
    suggestions: list[tuple[str, str, int, Suggestion]] = field(default_factory=list)
    """(lookup, code, rows, suggestion) for every code not certain."""
    refused: list[str] = field(default_factory=list)
    data: dict = field(default_factory=dict)
    """The lookups section as it must load (checked against the file written)."""


def unchecked_line(code: str, rows: int, hint: Suggestion) -> str:
    """The comment line of a code not certain: its code as a YAML scalar (the review finds it
    by it), its rows, and its candidates."""
    return yaml_text.comment(f"unchecked {yaml_text.scalar(code)}: {rows:,} rows; {hint.note()}")


def lookups_text(
    mapping: Mapping, spec: Spec, profiles: pd.DataFrame, reference: dict, limits: Thresholds
) -> tuple[str, LookupCodes]:
    allowed_by_field = {f.name: f.values for f in spec.fields if f.values}
    lists = load_code_lists(allowed_by_field)
    found_codes = LookupCodes()
    lines = ["lookups:"]
    for name, lookup in mapping.lookups.items():
        example_lookup = reference["lookups"][name]
        example = {str(k): v for k, v in (example_lookup.get("values") or {}).items()}
        allowed = spec.field(lookup.field).values if spec.has_field(lookup.field) else ()
        lines.append(f"  {yaml_text.scalar(name)}:")
        lines.append(f"    field: {yaml_text.scalar(lookup.field)}")
        lines.append(f"    default: {yaml_text.scalar(lookup.default)}")
        data: dict = {"field": lookup.field, "default": lookup.default}
        for flag in ("cld_values", "release1_values"):
            if example_lookup.get(flag):
                lines.append(f"    {flag}: true")
                data[flag] = True
        data["values"] = {}
        found_codes.data[name] = data
        found = profiles[(profiles["lookup"] == name) & profiles["rows"].notna()]
        where = ", ".join(dict.fromkeys(f"{r.source}.{r.column}" for r in found.itertuples()))
        total = found.groupby("code", sort=False)["rows"].sum()
        codes: list[tuple[str, int]] = []
        for code, n in total.items():
            if len(str(code)) > limits.max_code_length:
                found_codes.refused.append(f"lookups.{name}: {len(str(code)):,} characters")
                lines.append(
                    f"    # TODO: a value of {len(str(code)):,} characters in {where} is not a "
                    f"code (at most {limits.max_code_length}): left out; check the column"
                )
                continue
            codes.append((str(code), int(n)))
        if not codes:
            lines.append(
                f"    # no codes found in {where or 'the data'}: add them when they appear"
            )
            lines.append("    values: {}")
            continue
        fit = national_fit(lookup.field, [c for c, _ in codes], lists)
        by_flag = _flag_values(spec, lookup.field, example_lookup)
        active, inactive = [], []
        for code, n in codes:
            if code in by_flag and code not in example:
                # Mapped by the lookup's cld_values / release1_values, as in the example.
                found_codes.certain += 1
                active.append(
                    "      # "
                    + yaml_text.comment(f"{yaml_text.scalar(code)}: {n:,} rows; {by_flag[code]}")
                )
                continue
            hint = suggest(
                code,
                allowed,
                example,
                good_match=limits.good_match,
                shown=limits.candidates_shown,
                national=fit.values if fit else None,
                national_source=fit.source if fit else "",
            )
            if hint.certain:
                found_codes.certain += 1
                data["values"][code] = hint.value
                active.append(
                    f"      {yaml_text.scalar(code)}: {yaml_text.scalar(hint.value)}"
                    f"  # {yaml_text.comment(f'{n:,} rows; certain: {hint.how}')}"
                )
            else:
                found_codes.suggestions.append((name, code, n, hint))
                inactive.append(f"      # {unchecked_line(code, n, hint)}")
        lines.append(
            yaml_text.comment(f"    # codes found in {where}, most frequent first: a value only")
            + " where certain; each unchecked code maps to nothing until reviewed"
        )
        lines.append("    values:" if data["values"] else "    values: {}")
        lines += active + inactive
    return "\n".join(lines), found_codes


def filters_text(mapping: Mapping, frames: dict[str, pd.DataFrame], limits: Thresholds) -> str:
    lines = ["# Codes in the columns the event rules and exclusions filter on (code: rows),"]
    lines.append("# with the codes the rules below name. Check each rule's codes against them.")
    for usage, named in filter_usages(mapping):
        frame = frames.get(usage.source)
        if frame is None or usage.column not in frame:
            continue
        counts = code_counts(frame[usage.column], limits.max_codes)
        if counts is None:
            lines.append(f"#   {usage.source}.{usage.column}: more than {limits.max_codes} values")
            continue
        about = description_column(frame, usage.column)
        listed = []
        for code, n in counts.items():
            label = f" ({about[code]})" if about and code in about else ""
            listed.append(f"{code}{label}: {n:,}")
        lines.append(
            yaml_text.comment(
                f"#   {usage.source}.{usage.column} in the database: " + "; ".join(listed)
            )
        )
        missing = [c for c in named if c not in counts]
        lines.append(
            yaml_text.comment(
                f"#     the rules name: {', '.join(map(str, named))}"
                + (f" (not in the database: {', '.join(map(str, missing))})" if missing else "")
            )
        )
    return "\n".join(lines)


def description_column(frame: pd.DataFrame, column: str) -> dict[str, str] | None:
    """A code column's companion text (step_type for step_type_id), when the source has one."""

    stem = re.sub(r"_(id|code)$", "", column)
    for candidate in (stem, f"{stem}_description", f"{stem}_name"):
        if candidate != column and candidate in frame:
            pairs = frame[[column, candidate]].dropna()
            codes = as_text(pairs[column])
            labels = pairs[candidate].astype(str).str.slice(0, 60)
            return dict(zip(codes, labels, strict=True))
    return None


def mapping_tests_skeleton(mapping: Mapping) -> str:
    """A commented test per event rule, expecting the CLD rows it gives in CLD values (the
    event type, or the blank event type of a carer known by association, and the client type
    where the rule states it); the analyst adds one made-up record and the dates."""

    lines = [
        "# --- tests: one per case this authority's guidance questions turn on ---------------",
        "# A skeleton per event rule: uncomment, fill `given` with one made-up record of the",
        "# source (any fictional values) and complete `expect` with the CLD rows it must give,",
        "# written by hand from the guidance. `cldetl test-mapping` runs them.",
        "# tests:",
    ]
    tests = []
    for rule in mapping.events:
        columns = list(mapping.sources[rule.source].columns)
        rule_client = _constant(rule.client_type)
        expect = []
        for row in rule.rows:
            if row.kind == "carer_by_association":
                expect.append({"Event Type": "", "Client Type": "Unpaid carer"})
                continue
            client = _constant(row.client_type) or rule_client
            expect.append(
                {"Event Type": row.event_type, **({"Client Type": client} if client else {})}
            )
        described = " and ".join(
            e["Event Type"] or "an unpaid carer known by association" for e in expect
        )
        tests.append(
            {
                "name": f"{rule.name} gives {described}",
                "period_end": "2025-09-30",
                "given": {rule.source: [dict.fromkeys(columns, "")]},
                "expect": expect,
            }
        )
    if tests:
        body = yaml_text.dump(tests)
        lines += [f"#   {line}" for line in body.splitlines()]
    return "\n".join(lines)


def _constant(value) -> str | None:
    """A Value's constant (`client_type: Unpaid carer`), or None for a column or lookup."""
    return value.value if value is not None and isinstance(value.value, str) else None


def _flag_values(spec: Spec, field: str, example_lookup: dict) -> dict[str, str]:
    """Codes a lookup maps by its flags (CLD texts, Release 1 texts), with how, in words."""
    out: dict[str, str] = {}
    if example_lookup.get("release1_values"):
        for row in spec.release1_values:
            if row.field == field and row.release2:
                out[row.release1] = f"a Release 1 text (release1_values): {row.release2}"
    if example_lookup.get("cld_values") and spec.has_field(field):
        out.update({v: "a CLD value (cld_values)" for v in spec.field(field).values})
    return out
