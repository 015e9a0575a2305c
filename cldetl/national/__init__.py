"""What DHSC's central processing will make of a CLD file, before it is submitted.

One module per DHSC step (period, filter, dedup, data_quality, fates), each following the SQL
of DataS-DHSC/ASC-CLD-LA-Dashboard it names; every threshold and list is spec data
(cldetl/spec/national.yaml). See docs/national.md.
"""

from cldetl.national.method import national_method
from cldetl.national.model import Preview
from cldetl.national.preview import PREVIEW_RULES, preview, validate_and_preview
from cldetl.national.text import preview_text

__all__ = [
    "PREVIEW_RULES",
    "Preview",
    "national_method",
    "preview",
    "preview_text",
    "validate_and_preview",
]
