"""Cases (事件): intake from every channel, the declared workflow, deadlines, routing, duplicates."""

# The case tallies follow every write of a case through mapper events: import them with the package,
# so every process that writes cases (server, CLI, scheduler, tests) keeps them exact.
from civicgrid.events import tally as _tally  # noqa: E402,F401
