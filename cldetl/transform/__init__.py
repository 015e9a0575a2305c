"""`transform`: source records + a mapping -> CLD rows, exclusions, lineage and reconciliation.

The order follows the guidance: mapping exclusions (out of scope, cancelled), then event rules
(first match wins; a record may give several rows: a request and an assessment, a carer's row
beside the cared-for person's), service lines chained, person details joined (dated ones as at
the event end date), the guidance's rules and defaults, and the reporting-period inclusion.
Every source record ends in the output or in the exclusions with a reason; `reconcile` proves
it, and a run whose counts do not add up fails.
"""

from cldetl.transform import guidance_rules
from cldetl.transform.columns import DETAILS_UNUSED
from cldetl.transform.ledger import OUTCOMES, ReconciliationError, SourceCount, TransformResult
from cldetl.transform.run import transform

__all__ = [
    "DETAILS_UNUSED",
    "OUTCOMES",
    "ReconciliationError",
    "SourceCount",
    "TransformResult",
    "guidance_rules",
    "transform",
]
