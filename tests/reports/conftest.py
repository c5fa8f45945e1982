"""Hand-built case histories for the report tests (as in tests/assessment): cases with exactly the timestamps a test names."""

from tests.histories import SH, CaseMaker, at, make  # noqa: F401  (shared fixture and helpers)
