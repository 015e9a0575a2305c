"""Writing database text into a mapping file as data, never as YAML syntax.

A starter mapping carries codes and descriptions read from an authority's database, and a case
system's text is not cldetl's to trust: a line break in a step description would end a comment
line and start a key of its own (`connection: {url_env: OTHER_DB_URL}`), a control character
or an over-long code makes a file that does not load. So every value goes through a YAML
emitter (`scalar`, `dump`), every comment through `comment` (line breaks and control characters
escaped, never written), over-long codes are refused (`check_code`), and the written file is
loaded back and compared with what was meant (`loaded_back`) before anyone is told it is done.
"""

from __future__ import annotations

import re
from typing import Any

import yaml

from cldetl.mapping import safe_yaml
from cldetl.onboarding.reference import OnboardingError

# Every character that ends a line in YAML or on a terminal (\n, \r, NEL, LS, PS), the other C0
# and C1 controls, DEL, and bidirectional overrides (which reorder what an editor shows).
UNSAFE_IN_COMMENT = re.compile("[\x00-\x1f\x7f-\x9f\u2028\u2029\u202a-\u202e\u2066-\u2069]")


class _NoAliases(yaml.SafeDumper):
    """A safe dumper without anchors: a starter is edited by hand, rule by rule."""

    def ignore_aliases(self, data: Any) -> bool:
        return True


def dump(data: Any) -> str:
    """Block YAML of plain data (dicts, lists, text, numbers), in insertion order."""

    return yaml.dump(
        data,
        Dumper=_NoAliases,
        sort_keys=False,
        allow_unicode=False,  # non-ASCII escaped: no U+2028 or NEL raw in the file
        default_flow_style=False,
        width=100,
    )


def scalar(value: Any) -> str:
    """One value as a YAML flow scalar on one line ('Paid: 16 or more hours' quoted, a line
    break written as the escape \\n inside double quotes)."""

    if value is None:
        return "null"
    text = yaml.dump(
        value,
        Dumper=_NoAliases,
        allow_unicode=False,
        width=1_000_000,
        default_flow_style=True,
    )
    text = text.removesuffix("\n").removesuffix("\n...").strip()
    if "\n" in text:  # a folded scalar: force the double-quoted form, always one line
        text = yaml.dump(
            value, Dumper=_NoAliases, allow_unicode=False, width=1_000_000, default_style='"'
        ).strip()
    return text


def comment(text: Any) -> str:
    """Text made safe to stand after `#` on one line: line breaks and control characters
    written as escapes (\\x0a, \\u2028), never as themselves."""

    def escaped(match: re.Match) -> str:
        code = ord(match.group())
        return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"

    return UNSAFE_IN_COMMENT.sub(escaped, str(text))


def check_code(code: str, where: str, limit: int) -> None:
    """Refuse a code too long to be one (a YAML key over 1,024 characters changes form)."""

    if len(code) > limit:
        raise OnboardingError(
            f"{where}: a value of {len(code):,} characters (at most {limit:,}) is not a code: "
            "check that this column holds codes, or leave it out of the mapping."
        )


def loaded_back(text: str, name: str, expected: dict[str, Any]) -> dict:
    """Load the text as the mapping loader will and check each top-level section equals what
    was meant: a comment that became a key, or a value that changed, is found here."""

    try:
        data = safe_yaml.load(text, name)
    except Exception as exc:  # noqa: BLE001 - any failure is ours: the text was generated
        raise OnboardingError(
            f"{name}: the mapping written does not load back ({exc}); this is a cldetl bug: "
            "report it with the database's code that caused it."
        ) from None
    if not isinstance(data, dict):
        raise OnboardingError(f"{name}: the mapping written is not a YAML mapping (cldetl bug).")
    extra = sorted(set(data) - set(expected))
    changed = sorted(k for k in expected if data.get(k) != expected[k])
    if extra or changed:
        raise OnboardingError(
            f"{name}: the mapping written does not read back as written (sections "
            f"{', '.join(extra + changed)}); this is a cldetl bug: report it."
        )
    return data
