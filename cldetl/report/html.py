"""The report's HTML templates, rendered in a sandboxed, autoescaping Jinja2 environment: every
value on a page comes from a file or a database cldetl does not control."""

from __future__ import annotations

from typing import Any

from jinja2 import PackageLoader, StrictUndefined
from jinja2.sandbox import SandboxedEnvironment


def _environment() -> Any:
    """A sandboxed, autoescaping Jinja2 environment over cldetl's packaged templates."""
    return SandboxedEnvironment(
        loader=PackageLoader("cldetl.report", "templates"),
        autoescape=True,
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )


def render_template(name: str, **context: Any) -> str:
    """One packaged template rendered with `context`."""
    return _environment().get_template(name).render(**context)
