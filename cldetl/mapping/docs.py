"""docs/mapping.md: a guide to the mapping language plus a reference generated from the
pydantic models in cldetl/mapping/model.py, so the reference cannot drift from what is accepted."""

from __future__ import annotations

import inspect
import typing
from typing import Any

from pydantic import BaseModel

from cldetl import mapping as m

GUIDE = """# The mapping language

A mapping (`mappings/<la>.yaml`) says, once per authority, how local records and codes become
CLD events. It is data: filters are structured, lookups are tables, nothing is evaluated. Load
and check one with `cldetl test-mapping mappings/<la>.yaml` (which also runs its tests) or
`cldetl run --mapping ...`. Errors name the file, line and key:

    mappings/eastmoor.yaml:42 lookups.gender.values.M: 'Mail' is not a CLD Gender value;
    did you mean 'Male'?

## How a run uses it

1. **Sources** are extracted: SQL templates (the project's own, shipped with cldetl, or a
   `connectors/` folder beside the mapping, or `--connectors`), or partner files. Each
   template declares the parameters it takes and the columns it returns:
   [docs/connectors.md](connectors.md) lists them per template, and `sources.<name>.columns`
   names the ones the mapping uses. Templates leave out what cannot be in the return (records
   that ended before the reporting period); the database counts those rows and why.
2. **Exclusions** are applied first: a record matching one is out, with its `reason`.
3. **Event rules** are tried in order; a record is taken by the first rule whose `when` holds.
   Each of the rule's `rows` (whose own `when` holds) gives one CLD row: a record can give a
   Request and an Assessment (conversation 1 at first contact), or a carer's row beside the
   cared-for person's (`kind: carer_by_association`, `person: <carer column>`).
   - `person` (required on a rule) names the column holding the **LA Person ID** of the person
     the row is about; it joins the row to the person details. A row's own `person` replaces
     the rule's for that row (the carer's ID on a carer-by-association row).
   - `client_type` defaults to `Service user`; set it on the rule (`Unpaid carer`) or on a row
     (`Unpaid carer known by association`). It is a value like any field's (a constant, a
     column with a lookup, ...).
   - `linked_people` lists the columns naming the people the row's person is linked to (the
     people an unpaid carer cares for): any number of columns, each holding one ID or several
     separated by `;`. The guidance links "up to three adults cared for by the unpaid carer,
     but only where they are known to the local authority, i.e. they are a service user in
     CLD": the transform keeps the IDs known to the authority (in the person source), in
     order, the first three filling `Adult 1/2/3 Linked Person_ID`, and lists the others with
     their reason in `linked_people_left_out.csv` ([docs/outputs.md](outputs.md)); none is
     dropped unseen.
   - `reference` gives the Event Reference (a system reference: `{template: "EM{step_id}"}`).
     When none is given (on the rule or as the row's `Event Reference`), the row gets a
     **derived reference**: `E` and 15 hex digits, a hash of the rule name, the record's key
     (for chained service lines, the first line's) and the row's position in the rule. It
     holds no personal data and stays the same from one quarter to the next. Rows of the
     carer-by-association kind have no event, so no reference.
4. **Service lines** of one service that follow on (an uplift restarts the line) are chained
   into one service from the original start (`split_lines: original_start`) or kept per line.
5. **Person details** come from `person.fields` (latest known) and `person.dated` (as at the
   event end date, or the latest). A field in both is taken from `person.dated` when a dated
   record is found for the person, else from `person.fields`: a constant there
   (`Postcode: Unknown`) is the **fallback** for people with no dated record.
6. **The guidance's rules**: death ends a running service (outcome 'NFA: Deceased'); services
   open at the period end have no end date and outcome 'Continuation of support or services';
   financial assessments have no outcome or method; unpaid carers get the PSR 'Social support:
   Support to unpaid carer', route 'Community or other route' and review reason 'planned' when
   not recorded, and no client funding status where the LA does not charge them; employment
   status is blank at 65+. Each can be changed under `defaults`.
7. **The reporting period**: requests, assessments and reviews completed inside the 12 months;
   services active in any part of it. Anything else is excluded with its reason (below).

Every source row is accounted for: left out by the database (counted, with the reason), in the
CLD file, used as person details, or in `exclusions.csv` with its reason. `reconciliation.csv`
proves it per source (table rows = left out in the database + read; read = in the output +
person details + excluded) and a run that does not add up fails; [docs/outputs.md](outputs.md)
documents both files column by column. Local codes a lookup does not list go to
`unmapped_codes.csv` with counts (the lookup's `default` is used meanwhile).

## Values

A CLD field's value is one of: `{column: c}`, `{coalesce: [c1, c2]}`, a constant (`Short term
assessment` or `{value: ...}`), `{template: "MS{step_id}"}`, `{same_as: Event Start Date}`, or
`{outcomes: [c1, c2], lookup: outcome}` (several outcomes: the first in the Event Outcome list
wins; a column may hold any number of them separated by `;`, such as all of a step's next
actions). `lookup: name` translates local codes; `default:` fills a blank result.

## Filters

`{column: c, in: [...]}`, `{column: c, not_in: [...]}`, `{column: c, blank: true}` (the
column is blank: missing or only spaces), `{column: c, blank: false}` (it holds a value), and
`{all: [...]}`, `{any: [...]}`, `{not: ...}` of those. Codes compare as text.

## Population figures

The rates per 100,000 of ASCOF 2B and 2C need the authority's population by age band (ONS
mid-year estimates). Without them a run shows those measures as counts with no rate, and its
report says so. Give the figures, one per age band the measures use, with where they come from
and their year:

```yaml
population:
  source: "ONS mid-2024 population estimates, table MYE2"
  year: 2024
  by_age_band: {18 to 64: 250000, 65 and above: 60000}
```

or name a CSV with columns `age_band,population` (the same file `cldetl measures --population`
reads), relative to the mapping file: `file: population.csv` in place of `by_age_band`. Every
run of the mapping (`cldetl run`, the flows) and `cldetl measures FILE --mapping <la>.yaml`
then give rates, and the report names the source.

## Tests in the mapping

```yaml
tests:
  - name: conversation 1 at first contact gives a request and an assessment
    period_end: 2025-09-30
    given:
      steps: [{step_id: 3155, person_id: 1, step_type: 1001, ...}]
      people: [{person_id: 1, ...}]
    expect:
      - {Event Type: Request, Event Start Date: 04/07/2025, Event End Date: 04/07/2025}
      - {Event Type: Assessment, Event End Date: 18/07/2025}
    expect_excluded:
      - {source: steps, source_key: "3156", reason: cancelled}
```

Each expected row must match a different output row on the fields it lists; every output row
must be expected. `cldetl test-mapping` runs them; so does `pytest` (the `mappings/` folder).
"""

SECTIONS = [
    ("Mapping", "The file"),
    ("Metadata", "metadata"),
    ("Connection", "connection"),
    ("Source", "sources.<name>"),
    ("TemplateParams", "sources.<name>.params"),
    ("FileFormat", "sources.<name>.file_format"),
    ("Lookup", "lookups.<name>"),
    ("PersonDetails", "person"),
    ("DatedDetail", "person.dated.<CLD field>"),
    ("EventRule", "events[]"),
    ("EventRow", "events[].rows[]"),
    ("ServiceLines", "events[].service_lines"),
    ("Value", "a CLD field's value"),
    ("Filter", "when (a filter)"),
    ("Exclusion", "exclusions[]"),
    ("Defaults", "defaults"),
    ("Population", "population"),
    ("MappingTest", "tests[]"),
]


def _type_name(annotation: Any) -> str:
    origin = typing.get_origin(annotation)
    args = typing.get_args(annotation)
    if origin is typing.Annotated:  # a checked value (a number of people): its type
        return _type_name(args[0])
    if origin is typing.Literal:
        return " or ".join(f"`{a}`" for a in args)
    if origin in (list,):
        return f"list of {_type_name(args[0])}"
    if origin in (dict,):
        return f"map of {_type_name(args[0])} to {_type_name(args[1])}"
    if origin in (typing.Union, __import__("types").UnionType):
        names = [_type_name(a) for a in args if a is not type(None)]
        suffix = " (optional)" if type(None) in args else ""
        return " or ".join(names) + suffix
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation.__name__
    return getattr(annotation, "__name__", str(annotation))


def _reasons_markdown(automatic_reasons: list[tuple[str, str]], details_unused: str) -> str:
    lines = [
        "## Automatic exclusion reasons\n",
        "Besides each exclusion's own `reason`, `exclusions.csv` may say (generated from "
        "cldetl/transform):\n",
        "| reason | when |",
        "|---|---|",
    ]
    lines += [f"| {reason} | {why} |" for reason, why in automatic_reasons]
    lines.append(
        "\nPerson-details records no row in the return needed are not exclusions: "
        f"`reconciliation.csv` counts them as person details ('{details_unused}').\n"
    )
    return "\n".join(lines)


def mapping_markdown(automatic_reasons: list[tuple[str, str]], details_unused: str) -> str:
    """docs/mapping.md. The transform's own exclusion reasons and its name for unused person
    details are passed in (`cldetl.transform.reasons`): the mapping stage comes before it."""
    out = [
        GUIDE,
        _reasons_markdown(automatic_reasons, details_unused),
        "## Reference (generated from cldetl/mapping/model.py)\n",
    ]
    for name, where in SECTIONS:
        model: type[BaseModel] = getattr(m, name)
        out.append(f"### {name} — `{where}`\n")
        doc = inspect.cleandoc(model.__doc__ or "")
        if doc:
            out.append(doc + "\n")
        out.append("| key | type | default |")
        out.append("|---|---|---|")
        for field_name, info in model.model_fields.items():
            if field_name == "path":
                continue
            key = info.alias or field_name
            default = "required" if info.is_required() else repr(info.default)
            if isinstance(info.default, BaseModel):
                default = "see below"
            out.append(f"| `{key}` | {_type_name(info.annotation)} | {default} |")
        out.append("")
    return "\n".join(out)
