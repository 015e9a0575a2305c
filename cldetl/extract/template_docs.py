"""The reference section of docs/connectors.md, generated from every template's declaration so
the docs cannot drift from what the templates take."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from cldetl.mapping.template_declarations import builtin_connectors, read_declaration


def _cell(text: Any) -> str:
    if isinstance(text, list):
        text = "[" + ", ".join(str(v) for v in text) + "]"
    return str(text).replace("|", "\\|").replace("\n", " ")


def connectors_markdown(folder: Path | None = None) -> str:
    """The reference section of docs/connectors.md: every shipped template's declaration."""
    folder = folder or builtin_connectors()
    out = [
        "Generated from the declaration at the top of each template "
        "(`cldetl.extract.template_docs.connectors_markdown`); a test fails when this section "
        "and the "
        "templates differ.",
        "",
    ]
    for path in sorted(folder.glob("*/*.sql.j2")):
        template = path.relative_to(folder).as_posix()
        declaration = read_declaration(path, template)
        out.append(f"### `{template}`")
        out.append("")
        if declaration is None:
            out += ["No declaration.", ""]
            continue
        if declaration.about:
            out += [declaration.about, ""]
        if declaration.parameters:
            out.append("| parameter | kind | default | what it is |")
            out.append("|---|---|---|---|")
            for p in declaration.parameters.values():
                default = "(required)" if p.required else f"`{_cell(p.default)}`"
                kind = {"identifiers": "table", "flags": "flag", "values": "value"}[p.kind]
                if p.is_list:
                    kind = "list of values"
                out.append(f"| `{p.name}` | {kind} | {default} | {_cell(p.about)} |")
            out.append("")
        if declaration.base_table:
            out.append(
                f"One row per row of `{declaration.base_table}` it reads; rows it leaves out "
                "in the database (counted, with these reasons, in the reconciliation):"
                + ("" if declaration.left_out else " none.")
            )
            out.append("")
            for reason, when in declaration.left_out:
                out.append(f"* {reason}: `{' '.join(when.split())}`")
            out.append("")
        if declaration.columns:
            out.append("| column | type | what it is |")
            out.append("|---|---|---|")
            for column, kind in declaration.columns.items():
                out.append(f"| `{column}` | {kind} | {_cell(declaration.column_about[column])} |")
            out.append("")
    return "\n".join(out).rstrip() + "\n"


GENERATED = ("<!-- templates: generated -->", "<!-- templates: end -->")


def update_docs(path: Path) -> None:
    """Rewrite the generated section of docs/connectors.md (between the two markers)."""
    text = path.read_text(encoding="utf-8")
    start, end = text.index(GENERATED[0]) + len(GENERATED[0]), text.index(GENERATED[1])
    path.write_text(text[:start] + "\n" + connectors_markdown() + "\n" + text[end:], "utf-8")


if __name__ == "__main__":  # python -m cldetl.extract.template_docs docs/connectors.md
    import sys

    update_docs(Path(sys.argv[1]))
