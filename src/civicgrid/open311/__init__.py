"""Open311 GeoReport v2: the civic-tech door into the case pipeline (see docs/open311.md)."""
