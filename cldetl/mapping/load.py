"""`load_mapping`: a mapping file read into the typed models, then checked against the spec and
against the declarations of the templates its sources use."""

from __future__ import annotations

import typing
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ValidationError

from cldetl.mapping import safe_yaml
from cldetl.mapping.checks import check_mapping
from cldetl.mapping.lines import _format, _line_index, did_you_mean
from cldetl.mapping.model import Mapping, MappingError
from cldetl.mapping.template_declarations import mapping_template_problems
from cldetl.spec import Spec, load_spec


def load_mapping(
    path: str | Path, spec: Spec | None = None, connectors_dir: str | Path | None = None
) -> Mapping:
    """Read and check a mapping file. Raises MappingError listing every problem with its line.

    Template sources' `params` and `columns` are checked against their templates'
    declarations, found as extraction finds them (`connectors_dir` first when given)."""
    spec = spec or load_spec()
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise MappingError(f"{path}: no such mapping file.") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise MappingError(f"{path}: cannot be read ({exc}).") from None
    try:
        raw = safe_yaml.load(text, str(path))
        lines = _line_index(text, str(path))
    except safe_yaml.YamlLimitError as exc:
        raise MappingError(str(exc)) from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f":{mark.line + 1}" if mark else ""
        problem = getattr(exc, "problem", None) or str(exc)
        raise MappingError(f"{path}{where}: not valid YAML ({problem}).") from None
    if not isinstance(raw, dict):
        raise MappingError(f"{path}: a mapping file is a YAML mapping with metadata, sources...")
    try:
        mapping = Mapping.model_validate({**raw, "path": str(path)})
    except ValidationError as exc:
        problems = []
        for err in exc.errors():
            loc = tuple(p for p in err["loc"] if not (isinstance(p, str) and "[" in p))
            message = err["msg"].removeprefix("Value error, ")
            if err["type"] == "extra_forbidden":
                message = f"unknown key '{loc[-1]}'" + _known_keys_hint(raw, loc)
            elif err["type"] == "missing":
                message = f"missing required key '{loc[-1]}'"
            problems.append((loc, message))
        raise MappingError(_format(path, lines, problems)) from None
    problems = check_mapping(mapping, spec)
    problems += mapping_template_problems(mapping, connectors_dir)
    if problems:
        raise MappingError(_format(path, lines, problems))
    return mapping


def _known_keys_hint(raw: dict, loc: tuple) -> str:
    """Name the keys allowed where an unknown one stands, by walking the models along `loc`."""
    model: Any = Mapping
    for part in loc[:-1]:
        if isinstance(part, int):
            continue
        info = getattr(model, "model_fields", {}).get(part)
        if info is None:
            info = next(
                (f for f in getattr(model, "model_fields", {}).values() if f.alias == part), None
            )
        if info is None:
            continue  # a key of a dict (a lookup or field name), not a model field
        model = _inner_model(info.annotation)
        if model is None:
            return ""
    fields = getattr(model, "model_fields", None)
    if not fields:
        return ""
    allowed = [f.alias or n for n, f in fields.items() if n != "path"]
    return did_you_mean(str(loc[-1]), allowed) or f"; allowed here: {', '.join(allowed)}"


def _inner_model(annotation: Any) -> Any:
    """The pydantic model inside an annotation like `list[EventRule]` or `Filter | None`."""

    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    for arg in typing.get_args(annotation):
        found = _inner_model(arg)
        if found is not None:
            return found
    return None
