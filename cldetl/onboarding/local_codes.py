"""Finding a new authority's own local codes for the codes of the example a starter follows.

A starter mapping uses the templates' default parameters and the example authority's event
rules, and both name the example's local codes (question codes, statuses, step type ids,
relationship, characteristic, reference and name-class types). Another install of the same
system names the same things otherwise. What each example code means is data, beside the
example (`mappings/meanings/<system>.yaml`): its words, where such codes are held, and which
source column its values arrive in. Here, for each example code the database does not hold,
the codes held where such codes are kept are scored against those words (and, where the
values are looked up, against the values the example's lookups know), and the best is
suggested, one code for one code, or none when nothing fits well enough.

No code of any authority is named here: they all come from the meanings file and the
database. To fingerprint a code by its values (form answers, characteristic values), only the
values that are codes the example's lookups know are read; the others (free text, perhaps
personal) are counted by the database, never read, written or shown.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from sqlalchemy import column as sql_column
from sqlalchemy import func, inspect, select
from sqlalchemy import table as sql_table

from cldetl.onboarding.reference import meanings_data, thresholds
from cldetl.transform.filters import as_text

if TYPE_CHECKING:
    import pandas as pd

STOP_WORDS = frozenset({"a", "an", "and", "as", "at", "by", "for", "in", "of", "or", "the", "to"})


@dataclass
class Meaning:
    """One example code: its words, and the source column its values arrive in."""

    code: str
    words: list[str]
    feeds: str | None = None


@dataclass
class Kind:
    """One kind of local code (step types, step statuses, questions...)."""

    name: str
    where: dict[str, Any]
    params: list[str] = field(default_factory=list)
    rules: list[str] = field(default_factory=list)
    codes: dict[str, Meaning] = field(default_factory=dict)

    @property
    def held_in(self) -> str:
        """Where a code was looked for, in words: a table, or the rows of a source read for
        the period (a code used only in other periods is not among them)."""
        if "source" in self.where:
            return f"the {self.where['source']} rows read for the period"
        return "the database"


@dataclass
class Found:
    """The code suggested for an example code, or why none is."""

    kind: str
    example: str
    code: str | None
    score: float
    evidence: str
    rows: int | None = None
    checked: bool = True
    """False when the codes of this kind could not be read at all (no such table or column)."""
    candidates: list[tuple[str, float]] = field(default_factory=list)
    """The database codes that fit best, with their scores, best first: the same list is
    written beside the value and shown on the console."""

    def candidates_text(self) -> str:
        return "; ".join(f"{code} {score:.2f}" for code, score in self.candidates) or "none"


@dataclass
class Candidates:
    """The codes of one kind held in the database: counts, texts and value fingerprints."""

    counts: dict[str, int]
    texts: dict[str, str] = field(default_factory=dict)
    values: dict[str, set[str]] = field(default_factory=dict)
    distinct: dict[str, int] = field(default_factory=dict)
    """Per code, how many distinct values it has (`values` holds only the known ones)."""

    def share(self, code: str, expected: set[str]) -> float:
        """The share of a code's distinct values that are among `expected`."""
        values = self.values.get(code, set())
        total = self.distinct.get(code, len(values))
        return len(values & expected) / total if total and expected else 0.0


def load_meanings(system: str) -> list[Kind]:
    """The meanings file of a system (reference data: missing or unreadable is an error)."""

    raw = meanings_data(system)
    kinds = []
    for name, body in raw.items():
        if name == "patterns":  # LIKE patterns of template parameters, not codes (starter.py)
            continue
        codes = {}
        for code, about in (body.get("codes") or {}).items():
            if isinstance(about, dict):
                words, feeds = str(about.get("words", "")), about.get("feeds")
            else:
                words, feeds = str(about), None
            phrases = [w.strip() for w in words.split(",") if w.strip()]
            codes[str(code)] = Meaning(str(code), [str(code), *phrases], feeds)
        kinds.append(
            Kind(
                name=name,
                where=dict(body["where"]),
                params=list(body.get("params") or []),
                rules=list(body.get("rules") or []),
                codes=codes,
            )
        )
    return kinds


# --- scoring ----------------------------------------------------------------------------------


def _tokens(text: str) -> list[str]:
    words = re.findall(r"[a-z]+|[0-9]+", text.casefold())
    return [w for w in words if w not in STOP_WORDS and (len(w) > 1 or w.isdigit())]


def _subsequence(short: str, long: str) -> bool:
    it = iter(long)
    return all(ch in it for ch in short)


def _token_fit(word: str, others: list[str], joined: str) -> float:
    """How well one word is found among another text's words: the same word; one the start
    of the other ("emp", "employment"); inside a run-together word ("firstcontact"); or an
    abbreviation of it ("hrs" for "hours")."""
    if word in others:
        return 1.0
    if word.isdigit():
        return 0.0
    best = 0.0
    for other in others:
        if other.isdigit():
            continue
        short, long = sorted((word, other), key=len)
        if len(short) >= 3 and long.startswith(short):
            best = max(best, 0.85)
        elif len(short) >= 3 and short[0] == long[0] and _subsequence(short, long):
            best = max(best, 0.7)
    if len(word) >= 3 and word in joined:
        best = max(best, 0.85)
    return best


def text_fit(phrase: str, candidate: str) -> float:
    """Words of a phrase against a candidate's (code and description): the harmonic mean of
    how much of each is found in the other, 0 to 1."""
    mine, theirs = _tokens(phrase), _tokens(candidate)
    if not mine or not theirs:  # stop words only ("OF"): only the same text fits
        same = phrase.strip().casefold() == candidate.strip().casefold() != ""
        return 1.0 if same and any(ch.isalnum() for ch in phrase) else 0.0
    mine_joined, theirs_joined = "".join(mine), "".join(theirs)
    found = sum(_token_fit(w, theirs, theirs_joined) for w in mine) / len(mine)
    back = sum(_token_fit(w, mine, mine_joined) for w in theirs) / len(theirs)
    if not found or not back:
        return 0.0
    return 2 * found * back / (found + back)


def fit(meaning: Meaning, code: str, text: str, share: float):
    """A candidate's score for an example code, and what it rests on: the words, and the share
    of its values that the example's lookups know."""
    candidate = f"{code} {text}".strip()
    scored = [(text_fit(w, candidate), w) for w in meaning.words]
    words, phrase = max(scored)
    evidence = f'text "{phrase}" {words:.2f}' if words else ""
    score = words
    if share:
        score = min(1.0, max(words, 0.95 * share) + 0.05 * min(words, share))
        evidence += (", " if evidence else "") + (
            f"{share:.0%} of its values are codes the example's lookups know"
        )
    return score, evidence


def assign(
    kind: Kind,
    wanted: list[str],
    found: Candidates,
    expected: dict[str, set[str]],
) -> list[Found]:
    """One database code per example code not held: best scores first, each code once."""
    taken = {c for c in kind.codes if c in found.counts}
    pairs = []
    for example in wanted:
        meaning = kind.codes[example]
        for code in found.counts:
            if code in taken:
                continue
            score, evidence = fit(
                meaning,
                code,
                found.texts.get(code, ""),
                found.share(code, expected.get(example, set())),
            )
            if score:
                pairs.append((score, example, code, evidence))
    pairs.sort(key=lambda p: (-p[0], p[1], p[2]))
    limits = thresholds()
    out: dict[str, Found] = {}
    for score, example, code, evidence in pairs:
        if example in out or code in taken or score < limits.good_fit:
            continue
        out[example] = Found(kind.name, example, code, score, evidence, found.counts[code])
        taken.add(code)
    for example in wanted:
        ranked = [(p[2], round(p[0], 2)) for p in pairs if p[1] == example]
        if example not in out:
            best = ranked[0] if ranked else None
            hint = "nothing like it" if best is None else "no candidate scores enough"
            out[example] = Found(kind.name, example, None, best[1] if best else 0.0, hint)
        else:  # the chosen code first, then the others in score order
            chosen = out[example].code
            ranked = [r for r in ranked if r[0] == chosen] + [r for r in ranked if r[0] != chosen]
        out[example].candidates = ranked[: limits.candidates_shown]
    return [out[e] for e in wanted]


# --- where the database holds each kind -------------------------------------------------------


def table_candidates(conn, where: dict[str, Any], known: set[str]) -> Candidates | None:
    """Codes of a table's column with their rows and, for fingerprinting, per code: how many
    distinct values its `values` columns hold, and which of them are `known` (codes the
    example's lookups translate). Other values (free text, perhaps personal) are counted in
    the database, never read."""

    table, code = where["table"], where["column"]
    inspector = inspect(conn)
    if table not in set(inspector.get_table_names()):
        return None
    names = {c["name"] for c in inspector.get_columns(table)}
    if code not in names:
        return None
    query = (
        select(sql_column(code), func.count())
        .select_from(sql_table(table))
        .group_by(sql_column(code))
    )
    counts = {str(v).strip(): int(n) for v, n in conn.execute(query) if v is not None}
    if len(counts) > thresholds().max_codes:
        return None
    texts: dict[str, str] = {}
    about = where.get("description")
    if about and about in names:  # a type table's own text (a step type's name), not personal
        query = select(sql_column(code), func.min(sql_column(about))).select_from(sql_table(table))
        for c, text in conn.execute(query.group_by(sql_column(code))):
            if c is not None and text is not None:
                texts[str(c).strip()] = str(text)
    values: dict[str, set[str]] = {}
    distinct: dict[str, int] = {}
    for name in where.get("values") or []:
        if name not in names:
            continue
        code_column, value = sql_column(code), sql_column(name)
        query = (
            select(code_column, func.count(value.distinct()))
            .select_from(sql_table(table))
            .group_by(code_column)
        )
        for c, n in conn.execute(query):
            if c is not None:
                distinct[str(c).strip()] = distinct.get(str(c).strip(), 0) + int(n)
        if not known:
            continue
        query = (
            select(code_column, value)
            .select_from(sql_table(table))
            .where(value.in_(sorted(known)))
            .group_by(code_column, value)
        )
        for c, v in conn.execute(query):
            if c is not None:
                values.setdefault(str(c).strip(), set()).add(str(v).strip())
    return Candidates(counts=counts, texts=texts, values=values, distinct=distinct)


def frame_candidates(frames: dict[str, pd.DataFrame], where: dict[str, Any]) -> Candidates | None:
    """Codes of a source column in the rows read, with their description column's text."""

    frame = frames.get(where["source"])
    if frame is None or where["column"] not in frame:
        return None
    codes = as_text(frame[where["column"]]).str.strip()
    counts = codes[codes.notna() & codes.ne("")].value_counts()
    if len(counts) > thresholds().max_codes:
        return None
    texts: dict[str, str] = {}
    about = where.get("description")
    if about and about in frame:
        pairs = frame.assign(_code=codes)[["_code", about]].dropna().drop_duplicates("_code")
        texts = dict(zip(pairs["_code"], pairs[about].astype(str), strict=True))
    return Candidates(counts={str(k): int(v) for k, v in counts.items()}, texts=texts)


def expected_values(
    kind: Kind, lookups: dict[str, dict[str, Any]], usages: dict[str, list]
) -> dict[str, set[str]]:
    """Per example code with `feeds`, the codes the example's lookups translate in the source
    column its values arrive in: what this install's answers should look like."""
    keys_by_column: dict[str, set[str]] = {}
    for name, found in usages.items():
        keys = {str(k).strip() for k in (lookups.get(name, {}).get("values") or {})}
        for usage in found:
            keys_by_column.setdefault(f"{usage.source}.{usage.column}", set()).update(keys)
    return {
        code: keys_by_column.get(meaning.feeds, set())
        for code, meaning in kind.codes.items()
        if meaning.feeds
    }


def find_local_codes(
    kinds: list[Kind],
    used: dict[str, list[str]],
    conn,
    frames: dict[str, pd.DataFrame],
    lookups: dict[str, dict[str, Any]],
    usages: dict[str, list],
) -> tuple[dict[str, dict[str, Found]], list[str]]:
    """For each kind, the example codes the starter uses (`used[kind]`) that the database does
    not hold, each with the install's code found for it (or None).

    Returns:
        kind -> example code -> Found; and the kinds whose column was not found (TODOs).
    """
    out: dict[str, dict[str, Found]] = {}
    missing = []
    for kind in kinds:
        wanted = [c for c in dict.fromkeys(used.get(kind.name, [])) if c in kind.codes]
        if not wanted:
            continue
        where = kind.where
        expected = expected_values(kind, lookups, usages)
        known = set().union(*expected.values()) if expected else set()
        found = (
            frame_candidates(frames, where)
            if "source" in where
            else table_candidates(conn, where, known)
        )
        if found is None or not found.counts:
            missing.append(kind.name)
            place = ".".join(str(where.get(k)) for k in ("source", "table", "column") if k in where)
            out[kind.name] = {
                c: Found(kind.name, c, None, 0.0, f"no codes found in {place}", checked=False)
                for c in wanted
            }
            continue
        absent = [c for c in wanted if c not in found.counts]
        out[kind.name] = {f.example: f for f in assign(kind, absent, found, expected)}
    return out, missing
