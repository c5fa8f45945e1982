"""The audit trail: one append-only table, one function to write it."""
