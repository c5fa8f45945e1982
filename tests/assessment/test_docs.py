"""docs/kpis.md names every count, rate and point rule of the code (the docs cannot drift from the formulas)."""

from pathlib import Path

from civicgrid.assessment import kpis, points

DOC = (Path(__file__).resolve().parents[2] / "docs" / "kpis.md").read_text(encoding="utf-8")


def test_every_count_rate_and_rule_is_documented():
    for key in [c.key for c in kpis.COUNTS] + [r.key for r in kpis.RATES] + [r.code for r in points.RULES]:
        assert f"`{key}`" in DOC, key
    for c in kpis.COUNTS:
        assert c.zh in DOC, c.zh
    for r in kpis.RATES:
        assert r.zh in DOC and r.formula_zh.split(" / ")[0].split("（")[0] in DOC, r.key
