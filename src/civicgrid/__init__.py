"""civicgrid — open-source platform for municipal social governance (市域社会治理)."""

__version__ = "0.1.0"
