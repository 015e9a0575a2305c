"""Bounded YAML reading for mapping files: safe_load, after a cheap pass over the event stream
that refuses what would make the loader itself the problem.

`yaml.safe_load` never runs code, but a 521-byte file of nested aliases ("billion laughs")
expands to billions of nodes, a thousand nested lists exhaust Python's recursion, and a
5,000-digit number cannot be turned into an int. PyYAML's parser is a state machine (no
recursion), so walking its events first costs little and lets each refusal name its line.
"""

from __future__ import annotations

from typing import Any

import yaml

from cldetl.display import shown
from cldetl.errors import CldetlError

MAX_DEPTH = 40
"""Nested lists/mappings: a mapping needs about 8; far below Python's recursion limit."""
MAX_NODES = 200_000
"""Values after expanding aliases: the largest example mapping has under 10,000."""
MAX_SCALAR = 4_000
"""Characters in one value: a code, a label or a description; below Python's int limit."""


class YamlLimitError(CldetlError):
    """A YAML file beyond the loader's bounds (alias expansion, nesting depth, value size)."""


def _refuse(name: str, mark: Any, what: str, fix: str) -> YamlLimitError:
    line = f":{mark.line + 1}" if mark is not None else ""
    stop = "" if fix.endswith(".") else "."
    return YamlLimitError(f"{name}{line}: {what}. {fix}{stop}")


class _Collection:
    """One open list or mapping while walking the events: its size so far, its anchor, and
    (for a mapping) the keys seen and whether the next node is a key."""

    __slots__ = ("anchor", "is_mapping", "keys", "next_is_key", "size")

    def __init__(self, anchor: str | None, is_mapping: bool) -> None:
        self.size, self.anchor, self.is_mapping = 1, anchor, is_mapping
        self.keys: dict[tuple[str, str], int] = {}
        self.next_is_key = is_mapping

    def child_done(self, size: int) -> None:
        self.size += size
        if self.is_mapping:
            self.next_is_key = not self.next_is_key


_RESOLVER = yaml.resolver.Resolver()


def _key_identity(event: yaml.ScalarEvent) -> tuple[str, str]:
    """A scalar key as the loader will build it: its resolved tag and text (`1` and `'1'` are
    different keys; `a` and `'a'` the same)."""
    tag = event.tag or _RESOLVER.resolve(yaml.ScalarNode, event.value, event.implicit)
    return tag, event.value


def _check_key(name: str, parent: _Collection, event: yaml.ScalarEvent) -> None:
    """Refuse a key its mapping already holds: PyYAML would silently keep the last one, so a
    second `connection:` further down could replace the first unseen."""
    identity = _key_identity(event)
    first = parent.keys.get(identity)
    if first is not None:
        raise _refuse(
            name,
            event.start_mark,
            f"the key '{shown(event.value, 80)}' appears twice in one mapping (first at line "
            f"{first})",
            "Keep one of them: YAML would silently use the last",
        )
    parent.keys[identity] = event.start_mark.line + 1


def _check_scalar(name: str, parent: _Collection, event: yaml.ScalarEvent) -> None:
    if len(event.value) > MAX_SCALAR:
        raise _refuse(
            name,
            event.start_mark,
            f"a value of {len(event.value):,} characters (at most {MAX_SCALAR:,})",
            "A mapping holds codes, labels and column names; shorten the value.",
        )
    if parent.next_is_key:
        _check_key(name, parent, event)


def check_bounds(text: str, name: str) -> None:
    """Walk the YAML events of `text` and raise YamlLimitError at the first excess, duplicate
    key or recursive alias.

    Expansion is counted as the loader would build it: an alias adds the size of the node its
    anchor names, so nested aliases multiply as they would in memory. An alias inside the very
    list or mapping its anchor names would make a value that contains itself.
    """
    anchored: dict[str, int] = {}
    stack: list[_Collection] = [_Collection(None, False)]
    total = 0
    for event in yaml.parse(text, Loader=yaml.SafeLoader):
        parent = stack[-1]
        if isinstance(event, yaml.AliasEvent):
            if any(open_.anchor == event.anchor for open_ in stack):
                raise _refuse(
                    name,
                    event.start_mark,
                    f"the alias *{shown(event.anchor, 80)} stands inside the value its anchor "
                    f"&{shown(event.anchor, 80)} names (a value that contains itself)",
                    "Write the values out instead of the alias",
                )
            size = anchored.get(event.anchor, 1)
        elif isinstance(event, yaml.ScalarEvent):
            _check_scalar(name, parent, event)
            size = 1
            if event.anchor:
                anchored[event.anchor] = 1
        elif isinstance(event, (yaml.SequenceStartEvent, yaml.MappingStartEvent)):
            if len(stack) > MAX_DEPTH:
                raise _refuse(
                    name,
                    event.start_mark,
                    f"lists or mappings nested more than {MAX_DEPTH} deep",
                    "A mapping needs far less; flatten the structure.",
                )
            stack.append(_Collection(event.anchor, isinstance(event, yaml.MappingStartEvent)))
            total += 1
            _check_total(name, event, total)
            continue
        elif isinstance(event, (yaml.SequenceEndEvent, yaml.MappingEndEvent)):
            done = stack.pop()
            if done.anchor:
                anchored[done.anchor] = done.size
            stack[-1].child_done(done.size)
            continue
        else:
            continue
        total += size
        parent.child_done(size)
        _check_total(name, event, total)


def _check_total(name: str, event: yaml.Event, total: int) -> None:
    if total > MAX_NODES:
        raise _refuse(
            name,
            event.start_mark,
            f"the document expands to more than {MAX_NODES:,} values "
            "(aliases repeat what their anchor names)",
            "Write the values out, or use fewer nested aliases.",
        )


def load(text: str, name: str) -> Any:
    """`yaml.safe_load(text)` within the bounds above; `name` (the file) is used in messages.
    Raises YamlLimitError beyond a bound and yaml.YAMLError for text that is not YAML."""
    check_bounds(text, name)
    return yaml.safe_load(text)


def compose(text: str, name: str) -> yaml.Node | None:
    """The node tree (with line marks) of `text`, within the same bounds."""
    check_bounds(text, name)
    return yaml.compose(text, Loader=yaml.SafeLoader)
