"""Regions and grids (网格): the region tree every record and every user's scope hangs from."""
