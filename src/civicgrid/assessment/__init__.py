"""Assessment (考核): KPIs from the case history, composite scores and rankings, grid-worker points, responsibility lists."""
