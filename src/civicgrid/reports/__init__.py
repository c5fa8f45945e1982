"""Monthly reports per region (Excel and PDF), generated on schedule and on demand."""
