"""Header checks: all 48 Release 2 fields, no dropped Release 1 field, nothing unknown."""

from __future__ import annotations

from collections import Counter

from cldetl.validate.checks.context import CheckContext
from cldetl.validate.header_row import header_key


def check(ctx: CheckContext) -> None:
    spec, sink, header = ctx.spec, ctx.sink, ctx.table.header
    expected = spec.headers
    dropped = set(spec.dropped_fields)
    present = set(header)
    missing = [name for name in expected if name not in present]
    by_key = {header_key(name): name for name in missing}

    for name, count in Counter(header).items():
        if count > 1:
            sink.file(
                "header.duplicate",
                f"'{name}' appears {count} times in the header; keep one column of that name.",
                column=name,
                line=1,
            )
    for name in header:
        if name in dropped:
            sink.file(
                "header.dropped",
                f"'{name}' was dropped in Release 2 and the DLP rejects files that still have it: "
                "remove the column.",
                column=name,
                line=1,
            )
        elif not spec.has_field(name):
            near = by_key.get(header_key(name))
            hint = f" Did you mean '{near}'?" if near else " Remove it or rename it."
            sink.file(
                "header.unknown",
                f"'{name}' is not a Release 2 field.{hint}",
                column=name,
                line=1,
            )
    keys: dict[str, list[str]] = {}
    for h in dict.fromkeys(header):
        keys.setdefault(header_key(h), []).append(h)
    for name in missing:
        near = [h for h in keys.get(header_key(name), []) if h != name]
        hint = f" The header has '{near[0]}': rename it to '{name}'." if near else ""
        sink.file(
            "header.missing",
            f"'{name}' is missing from the header; every Release 2 field must be present, "
            f"even if blank.{hint}",
            column=name,
            line=1,
        )
    # Order is judged on each field's first column; a repeat is reported as a duplicate.
    in_file_order = list(dict.fromkeys(name for name in header if spec.has_field(name)))
    in_spec_order = [name for name in expected if name in present]
    if in_file_order != in_spec_order:
        position = next(
            i for i, (a, b) in enumerate(zip(in_file_order, in_spec_order, strict=True)) if a != b
        )
        sink.file(
            "header.order",
            "Columns are not in specification order (accepted, but the spec order is usual): "
            f"'{in_file_order[position]}' stands where '{in_spec_order[position]}' belongs.",
            column=in_file_order[position],
            line=1,
        )
