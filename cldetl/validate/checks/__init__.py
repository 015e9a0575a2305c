"""The validator's checks, one module per family: headers, data types, defined lists, the
spec's row-rule tables (mandatory / not applicable / expected values), dates and the reporting
period, personal data, and file-level duplicates. Each exposes `check(ctx)`.
"""
