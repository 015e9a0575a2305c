"""What a run folder keeps of the national preview: the preview, each row's fate, the measures.

The pipeline writes these files beside validation.json (cldetl/pipeline.py `write_run`); the
report's "What DHSC will see" section and the workbook's measure sheets read the same objects.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

from cldetl.national.measures import Figure, measures, measures_method
from cldetl.national.measures.output import measures_json, records_csv
from cldetl.national.model import Preview
from cldetl.national.preview import preview
from cldetl.validate.csvfile import CldTable
from cldetl.validate.findings import ValidationReport

PREVIEW_JSON = "national_preview.json"
FATES_CSV = "national_fates.csv"
MEASURES_JSON = "national_measures.json"
RECORDS_CSV = "national_measures_records.csv"


@dataclass
class NationalRun:
    preview: Preview
    figures: list[Figure]
    # The measures are over the stated period when DHSC derives none (the file would not be
    # selected); `stated` says so.
    stated: bool
    not_computable: dict[str, str]

    def files(self) -> dict[str, str]:
        """File name -> text, for the run folder."""
        return {
            PREVIEW_JSON: json.dumps(self.preview.to_json_dict(), indent=2) + "\n",
            FATES_CSV: self.preview.fates_csv(),
            MEASURES_JSON: json.dumps(
                measures_json(self.figures, self.not_computable, None)
                | {"over_the_stated_period": self.stated},
                indent=2,
            )
            + "\n",
            RECORDS_CSV: records_csv(self.figures),
        }


def national_run(
    table: CldTable, report: ValidationReport, population: dict[str, int] | None = None
) -> NationalRun:
    """The preview of a validated return, and its measures."""
    p = preview(table, report)
    stated = p.reference_period is None
    basis = preview(table, report, stated_when_underived=True) if stated else p
    method = measures_method()
    return NationalRun(
        preview=p,
        figures=measures(basis, population),
        stated=stated,
        not_computable={**method["not_computable"], **method["not_yet"]},
    )
