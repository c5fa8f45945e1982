"""The in-app inbox: assignments, due-soon, overdue, returns, rework, supervision."""
