"""Where a key stands in a mapping file: every message about a mapping names its file, line and
dotted key, and offers the closest allowed spelling."""

from __future__ import annotations

import difflib
from pathlib import Path
from typing import TYPE_CHECKING

import yaml

from cldetl.mapping import safe_yaml

if TYPE_CHECKING:
    from cldetl.mapping.model import Mapping


def _line_index(text: str, name: str = "mapping") -> dict[tuple, int]:
    """Line of every key path in the YAML document, from PyYAML's node marks."""
    lines: dict[tuple, int] = {}

    def walk(node: yaml.Node, path: tuple) -> None:
        lines.setdefault(path, node.start_mark.line + 1)
        if isinstance(node, yaml.MappingNode):
            for key, value in node.value:
                lines[path + (key.value,)] = key.start_mark.line + 1
                walk(value, path + (key.value,))
                lines[path + (key.value,)] = key.start_mark.line + 1
        elif isinstance(node, yaml.SequenceNode):
            for i, item in enumerate(node.value):
                walk(item, path + (i,))

    root = safe_yaml.compose(text, name)
    if root is not None:
        walk(root, ())
    return lines


def _line_for(lines: dict[tuple, int], path: tuple) -> int | None:
    path = tuple(str(p) if not isinstance(p, int) else p for p in path)
    while path:
        if path in lines:
            return lines[path]
        path = path[:-1]
    return lines.get(())


def key_line(mapping_path: str | Path, loc: tuple) -> int | None:
    """The line of a key (e.g. ("sources", "steps", "template")) in a mapping file, for
    messages raised after loading; None when it cannot be found."""
    try:
        text = Path(mapping_path).read_text(encoding="utf-8")
        return _line_for(_line_index(text, str(mapping_path)), loc)
    except (OSError, UnicodeDecodeError, yaml.YAMLError, safe_yaml.YamlLimitError):
        return None


def where_in_mapping(mapping: Mapping, *loc: str) -> str:
    """'mappings/x.yaml:12 sources.steps.template' for messages raised after loading (the
    line when it can be found)."""
    dotted = ".".join(str(part) for part in loc)
    if not mapping.path:
        return dotted
    line = key_line(mapping.path, loc)
    return f"{mapping.path}:{line or '?'} {dotted}"


def _dotted(path: tuple) -> str:
    out = ""
    for part in path:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out


def did_you_mean(value: str, options: list[str] | tuple[str, ...]) -> str:
    close = difflib.get_close_matches(value, list(options), n=1, cutoff=0.6)
    if not close:
        folded = {o.casefold(): o for o in options}
        close = [folded[c] for c in difflib.get_close_matches(value.casefold(), folded, n=1)]
    return f"; did you mean '{close[0]}'?" if close else ""


def _format(path: Path, lines: dict[tuple, int], problems: list[tuple[tuple, str]]) -> str:
    out = [f"{path}: {len(problems)} problem(s) in the mapping:"]
    for loc, message in problems:
        line = _line_for(lines, loc)
        out.append(f"  {path}:{line or '?'} {_dotted(loc)}: {message}")
    return "\n".join(out)
