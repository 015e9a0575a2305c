"""`load_mapping`: the per-LA YAML mapping, read into typed models and checked against the spec.

A mapping says, once per authority, how local records and codes become CLD events. It is
data, never code: filters are structured (`{column: step_type, in: [1001]}`), lookups are
tables, and nothing in it is evaluated. Errors name the file, the line and the key, say what is
wrong and what would fix it:

    mappings/eastmoor.yaml:42 lookups.gender.values.M: 'Mail' is not a CLD Gender value;
    did you mean 'Male'?
"""

from cldetl.mapping.checks import check_mapping
from cldetl.mapping.lines import did_you_mean, key_line, where_in_mapping
from cldetl.mapping.load import load_mapping
from cldetl.mapping.model import (
    IDENTIFIER,
    TEMPLATE_PART,
    ComparisonSettings,
    Connection,
    DatedDetail,
    Defaults,
    EventRow,
    EventRule,
    Exclusion,
    FileFormat,
    Filter,
    Lookup,
    Mapping,
    MappingError,
    MappingTest,
    Metadata,
    Output,
    PersonDetails,
    Population,
    ServiceLines,
    Source,
    TemplateParams,
    Value,
)

__all__ = [
    "ComparisonSettings",
    "Connection",
    "DatedDetail",
    "Defaults",
    "EventRow",
    "EventRule",
    "Exclusion",
    "FileFormat",
    "Filter",
    "IDENTIFIER",
    "Lookup",
    "Mapping",
    "MappingError",
    "MappingTest",
    "Metadata",
    "Output",
    "PersonDetails",
    "Population",
    "ServiceLines",
    "Source",
    "TEMPLATE_PART",
    "TemplateParams",
    "Value",
    "check_mapping",
    "did_you_mean",
    "key_line",
    "load_mapping",
    "where_in_mapping",
]
