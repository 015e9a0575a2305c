"""The preview in words: warnings for the run's findings, and the console text."""

from __future__ import annotations

from datetime import date

from cldetl.national.carer_links import links_to_no_one
from cldetl.national.measures import measures_method
from cldetl.national.method import national_method
from cldetl.national.model import Preview


def _fmt(d: date | None) -> str:
    return d.strftime("%d/%m/%Y") if d else "none"


def warnings_for(p: Preview, method: dict) -> list[tuple[str, str]]:
    """What DHSC will do that the LA should know, one (rule, message) each."""
    period, out = p.period, []
    cite = method["reporting_period"]["cite"]
    if period.start is None:
        missing = [t.event_type for t in period.by_type if t.start is None]
        out.append(
            (
                "national.period_not_derived",
                "DHSC cannot derive a reporting period from this file (no run of complete months "
                f"for: {', '.join(missing) or 'all three event types together'}); it would not "
                f"select the file. Method: {cite}.",
            )
        )
    elif not period.matches:
        out.append(
            (
                "national.period_differs",
                f"DHSC would derive the period {_fmt(period.start)} to {_fmt(period.end)}, not "
                f"the stated {_fmt(period.stated_start)} to {_fmt(period.stated_end)}: months "
                f"with too few events are not counted. Method: {cite}.",
            )
        )
    if period.gap_flag:
        out.append(
            (
                "national.period_gap",
                "An event type has a month with too few events between its first and last "
                f"complete month (DHSC's gap flag). Method: {cite}.",
            )
        )
    if period.missing_type_flag:
        out.append(
            (
                "national.missing_event_type",
                "Requests, assessments or services have no events DHSC counts (its missing "
                f"event type flag). Method: {cite}.",
            )
        )
    counts = p.fate_counts
    if counts.get("merged", 0):
        out.append(
            (
                "national.same_event",
                f"{int(counts['merged'])} row(s) are merged into another row of the same event "
                f"by DHSC. Method: {method['deduplication']['cite']}.",
            )
        )
    if counts.get("no_person", 0):
        out.append(
            (
                "national.no_person_id",
                f"{int(counts['no_person'])} row(s) have neither an NHS number nor an LA person "
                f"ID; DHSC drops them. Method: {method['derived_fields']['cite']}.",
            )
        )
    dropped = sum(
        int(n) for k, n in counts.items() if k.startswith(("no_", "outside", "death_before"))
    ) - int(counts.get("no_person", 0))
    if dropped and p.reference_period is not None:
        out.append(
            (
                "national.dropped",
                f"{dropped} row(s) are dropped by DHSC's period filter (see the fates). "
                f"Method: {method['period_filter']['cite']}.",
            )
        )
    if p.reference_period is not None and p.events is not None and len(p.events):
        out += _carer_links(p)
    return out


def _carer_links(p: Preview, limit: int = 10) -> list[tuple[str, str]]:
    """Unpaid carers' links to a person ID found on no row: DHSC's join drops them (no
    figure changes), and the person cared for is unknown to DHSC."""
    carer_types = measures_method()["ascof_3d"]["carer_client_types"]
    loose = links_to_no_one(p.events, p.reference_period, carer_types)
    if loose.empty:
        return []
    lines = sorted(set(loose["line"].tolist()))
    shown = ", ".join(str(x) for x in lines[:limit])
    more = f" and {len(lines) - limit} more" if len(lines) > limit else ""
    return [
        (
            "national.carer_link_to_no_one",
            f"{len(loose)} linked person ID(s) on {len(lines)} unpaid carer row(s) of the year "
            f"match no LA person ID in the file (lines {shown}{more}); DHSC's join drops them, "
            "so it cannot tell whom the carer cares for. No figure changes. Method: "
            "ASCOF_measures/Create_personal_details_table.sql (7396fab), #Carers_shell and "
            "#People_With_Unpaid_Carer.",
        )
    ]


def preview_text(p: Preview, limit: int = 10) -> str:
    """The preview for a console: counts, dates and line numbers only."""
    method = national_method()
    period = p.period
    lines = [
        f"National processing preview of {p.file}: {p.rows} rows",
        f"Following {method['source']}, commit {method['commit'][:7]}.",
        "",
        f"Reporting period ({method['reporting_period']['cite']}):",
        f"  stated  {_fmt(period.stated_start)} to {_fmt(period.stated_end)}",
        f"  derived {_fmt(period.start)} to {_fmt(period.end)}"
        + ("  (matches)" if period.matches else ""),
        f"  counted: events ending before the import month ({_fmt(period.import_month)})",
        f"  gap flag: {'yes' if period.gap_flag else 'no'}; missing event type flag: "
        f"{'yes' if period.missing_type_flag else 'no'}",
    ]
    if period.exception:
        lines.append(f"  authority exception: {period.exception.replace('_', ' ')}")
    for t in period.by_type:
        lines.append(
            f"  {t.event_type}: {t.total} event(s), derived {_fmt(t.start)} to {_fmt(t.end)}"
            + ("" if t.enough_volume else " (too few events)")
            + (" (gap)" if t.gap else "")
        )
    labels = method["fates"]
    lines += ["", f"What happens to each row ({p.rows} rows):"]
    for key, n in p.fate_counts.items():
        if n:
            lines.append(f"  {int(n):>8}  {labels[key]}")
    groups = p.same_events
    if groups:
        lines += ["", f"Rows merged into another ({method['deduplication']['cite']}):"]
        for kept, merged in groups[:limit]:
            lines.append(f"  line {kept} stands for lines {', '.join(str(x) for x in merged)}")
        if len(groups) > limit:
            lines.append(f"  ... and {len(groups) - limit} more group(s)")
    codes = method["data_quality"]["codes"]
    lines += [
        "",
        f"Data quality by field ({method['data_quality']['cite']}):",
        "  codes: " + "; ".join(f"{c['code']} '{c['label']}'" for c in codes.values()),
    ]
    worst = p.quality[p.quality["code"] < 0]
    if worst.empty:
        lines.append("  every field valid or blank where allowed")
    for r in worst.itertuples(index=False):
        lines.append(f"  {r.field}: {r.rows} row(s) {r.code} '{r.label}' ({r.status})")
    if p.warnings:
        lines += ["", "Warnings:"]
        lines += [f"  WARNING {rule}: {message}" for rule, message in p.warnings]
    return "\n".join(lines) + "\n"
