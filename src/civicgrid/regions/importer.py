"""GeoJSON import, pure part: division codes, feature parsing and the validation report.

Nothing here reads or writes the database. ``service.import_geojson`` parses the file with
``parse_features``, loads what the database already knows about the codes involved, runs
``check_tree`` and only then writes — so a file with any problem writes nothing.

Every problem names the feature (its position in ``features`` and its code) and says what
to fix, in Chinese and English, and every problem in the file is reported at once.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import shapely
from shapely import STRtree
from shapely.geometry.base import BaseGeometry

from civicgrid.regions.geometry import area_m2, clean_geojson, parse_polygon, projection_for
from civicgrid.regions.models import SPECIAL_GRID_KINDS, RegionLevel
from civicgrid.regions.schemas import ImportProblem

# A child may stick out of its parent by this share of its own area (digitising slop).
CONTAINMENT_TOLERANCE = 0.01
# Siblings may overlap by this share of the smaller one before it is an error.
OVERLAP_TOLERANCE = 0.01

GRID_LEVELS = (RegionLevel.GRID, RegionLevel.MICRO_GRID)
_MISSING = object()

# Every kind of problem an import can report, with a short label in both languages
# (docs/grids.md explains each; a test keeps the two in step).
PROBLEM_KINDS: dict[str, tuple[str, str]] = {
    "not_feature_collection": ("不是 FeatureCollection", "Not a FeatureCollection"),
    "no_features": ("没有要素", "No features"),
    "crs_unsupported": ("坐标系不是 WGS84 经纬度", "Coordinates not WGS84 lon/lat"),
    "feature_invalid": ("要素格式错误", "Malformed feature"),
    "code_missing": ("缺少代码", "Code missing"),
    "code_format": ("代码格式错误", "Malformed code"),
    "level_unknown": ("层级名称无效", "Unknown level"),
    "level_mismatch": ("层级与代码不符", "Level contradicts the code"),
    "parent_code_format": ("上级代码格式错误", "Malformed parent code"),
    "parent_mismatch": ("上级代码与代码结构不符", "Parent code contradicts the code"),
    "name_missing": ("缺少名称", "Name missing"),
    "name_too_long": ("名称过长", "Name too long"),
    "name_en_invalid": ("英文名称无效", "Invalid English name"),
    "special_unknown": ("专属网格类型无效", "Unknown special-grid kind"),
    "special_not_grid": ("非网格不能设为专属网格", "Special kind on a non-grid"),
    "population_invalid": ("人口数无效", "Invalid population"),
    "geometry_missing": ("缺少边界", "Boundary missing"),
    "geometry_type": ("几何类型不是面", "Geometry is not a polygon"),
    "geometry_coordinates": ("坐标结构错误", "Malformed coordinates"),
    "ring_too_short": ("环的点数不足", "Ring too short"),
    "ring_unclosed": ("环未闭合", "Ring not closed"),
    "coordinate_range": ("坐标超出经纬度范围", "Coordinates out of lon/lat range"),
    "geometry_empty": ("面积为零", "Zero area"),
    "self_intersection": ("边界自相交", "Self-intersection"),
    "invalid_geometry": ("多边形无效", "Invalid polygon"),
    "duplicate_code": ("文件内代码重复", "Code repeated in the file"),
    "duplicate_code_db": ("代码已在其他上级下存在", "Code stored under another parent"),
    "unknown_parent": ("上级不存在", "Unknown parent"),
    "outside_parent": ("超出上级边界", "Outside its parent"),
    "existing_child_outside": ("已有下级超出新边界", "Stored child outside the new boundary"),
    "sibling_overlap": ("与同级重叠", "Overlaps a sibling"),
}


# ---------------------------------------------------------------------------------------
# Division codes (统计用区划代码 + grid suffixes)
# ---------------------------------------------------------------------------------------


def _groups(code: str) -> tuple[str, str, str, str, str]:
    """The 12-digit code's groups: province 2, city 2, county 2, township 3, village 3."""
    return code[0:2], code[2:4], code[4:6], code[6:9], code[9:12]


def code_error(code: str) -> tuple[str, str] | None:
    """Why ``code`` is not a usable region code, as (zh, en); None if it is fine."""
    if not code.isascii() or not code.isdigit() or len(code) not in (12, 15, 18):
        return (
            f"代码 {code!r} 格式不正确：应为 12 位统计用区划代码（市/区县/街道/社区），"
            "网格为社区代码加 3 位网格序号（15 位），微网格再加 3 位（18 位），且只含数字",
            f"Code {code!r} is malformed: use the 12-digit statistical division code (city/district/"
            "street/community), community code + 3-digit grid number for grids (15 digits), "
            "+ 3 more digits for micro-grids (18 digits); digits only",
        )
    province, city, county, township, village = _groups(code)
    if province == "00":
        return (f"代码 {code} 的省级代码不能为 00", f"Code {code} has province digits 00")
    if city == "00" and county == "00" and township == "000" and village == "000":
        return (
            f"代码 {code} 是省级代码：区域树的根是市，请从市级代码开始导入",
            f"Code {code} is a province code: the region tree starts at the city; import the city first",
        )
    if len(code) >= 15:
        if village == "000":
            return (
                f"网格代码 {code} 的前 12 位 {code[:12]} 不是社区（村）代码：网格代码 = 社区代码 + 3 位序号",
                f"Grid code {code}: its first 12 digits {code[:12]} are not a community code "
                "(grid code = community code + 3-digit number)",
            )
        if code[12:15] == "000":
            return (f"网格代码 {code} 的网格序号不能为 000", f"Grid code {code} has grid number 000")
    if len(code) == 18 and code[15:18] == "000":
        return (f"微网格代码 {code} 的序号不能为 000", f"Micro-grid code {code} has number 000")
    return None


def level_for_code(code: str) -> RegionLevel:
    """The level a (valid) code denotes: by length, then by its lowest non-zero group."""
    if len(code) == 18:
        return RegionLevel.MICRO_GRID
    if len(code) == 15:
        return RegionLevel.GRID
    _, city, county, township, village = _groups(code)
    if village != "000":
        return RegionLevel.COMMUNITY
    if township != "000":
        return RegionLevel.STREET
    if county != "00":
        return RegionLevel.DISTRICT
    return RegionLevel.CITY


def parent_code_for(code: str) -> str | None:
    """The parent's code inferred from a (valid) code; None for a city (the root).

    Zeroing the lowest non-zero group gives the next level up; this also handles cities
    without districts (不设区的市, e.g. township ``441900003000`` → city ``441900000000``).
    """
    if len(code) in (15, 18):
        return code[:-3]
    _, city, county, township, village = _groups(code)
    if village != "000":
        return code[:9] + "000"
    if township != "000":
        return code[:6] + "000000"
    if county != "00":
        return code[:4] + "00000000"
    return None


def ancestor_codes(code: str) -> list[str]:
    """All codes above ``code`` by the code structure, nearest first."""
    chain: list[str] = []
    parent = parent_code_for(code)
    while parent is not None:
        chain.append(parent)
        parent = parent_code_for(parent)
    return chain


# ---------------------------------------------------------------------------------------
# Parsed features and known regions
# ---------------------------------------------------------------------------------------


@dataclass
class FeatureRow:
    """One feature that passed the per-feature checks (it may still fail the tree checks)."""

    index: int
    code: str
    level: RegionLevel
    parent_code: str | None
    name_zh: str
    name_en: Any  # str, None (clear) or _MISSING (keep the stored value)
    special: Any  # str, None or _MISSING
    population: Any  # int, None or _MISSING
    geom: BaseGeometry | None
    geometry_json: dict[str, Any] | None

    def has(self, value: Any) -> bool:
        """Whether an optional property was present in the feature (None counts: it clears)."""
        return value is not _MISSING


@dataclass(frozen=True)
class KnownRegion:
    """What the database already holds for one code (read by the service, checked here)."""

    id: int
    code: str
    level: RegionLevel
    parent_code: str | None
    path: str
    geom: BaseGeometry | None


def _label(index: int | None, code: str | None) -> tuple[str, str]:
    """How messages name a feature: ``features[3]（代码 …）`` / ``features[3] (code …)``."""
    if index is None:
        return "", ""
    if code:
        return f"features[{index}]（代码 {code}）：", f"features[{index}] (code {code}): "
    return f"features[{index}]：", f"features[{index}]: "


def problem(
    kind: str,
    zh: str,
    en: str,
    *,
    index: int | None = None,
    code: str | None = None,
    related_index: int | None = None,
    related_code: str | None = None,
) -> ImportProblem:
    """An ImportProblem whose messages start by naming the feature."""
    lz, le = _label(index, code)
    return ImportProblem(
        index=index,
        code=code,
        kind=kind,
        message_zh=lz + zh,
        message_en=le + en,
        related_index=related_index,
        related_code=related_code,
    )


# ---------------------------------------------------------------------------------------
# Per-feature parsing
# ---------------------------------------------------------------------------------------


def _code_of(value: Any) -> str | None:
    """A code property as a string; integers are accepted (JSON numbers keep all 18 digits in Python)."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return str(value)
    if isinstance(value, str):
        return value.strip()
    return None


def _parse_one(index: int, feature: Any, problems: list[ImportProblem]) -> FeatureRow | None:
    """Check one feature on its own; append its problems; return a row if its code is usable."""
    if not isinstance(feature, dict) or feature.get("type") != "Feature" or not isinstance(feature.get("properties"), dict):
        problems.append(
            problem(
                "feature_invalid",
                '不是有效的 GeoJSON 要素：需要 "type": "Feature" 和 properties 对象',
                'Not a valid GeoJSON feature: needs "type": "Feature" and a properties object',
                index=index,
            )
        )
        return None
    props: dict[str, Any] = feature["properties"]
    raw_code = props.get("code")
    code = _code_of(raw_code)
    if not code:
        problems.append(
            problem(
                "code_missing",
                "缺少 code 属性：请填写 12 位区划代码或网格代码（字符串）",
                "The code property is missing: give the 12-digit division code or grid code (as a string)",
                index=index,
            )
        )
        return None
    bad = code_error(code)
    if bad:
        problems.append(problem("code_format", *bad, index=index, code=code))
        return None
    level = level_for_code(code)

    def fail(kind: str, zh: str, en: str) -> None:
        problems.append(problem(kind, zh, en, index=index, code=code))

    stated_level = props.get("level")
    if stated_level is not None:
        try:
            stated = RegionLevel(stated_level)
        except ValueError:
            stated = None
            choices = ", ".join(lv.value for lv in RegionLevel)
            fail(
                "level_unknown",
                f"level 为 {stated_level!r}，应为以下之一：{choices}（也可不填，由代码推断）",
                f"level is {stated_level!r}; use one of: {choices} (or omit it: it is inferred from the code)",
            )
        if stated is not None and stated != level:
            fail(
                "level_mismatch",
                f"level 为 {stated.value}（{stated.label_zh}），但代码表示 {level.value}（{level.label_zh}）："
                "请核对代码，或删除 level 让系统按代码推断",
                f"level is {stated.value} but the code denotes a {level.value}: check the code, "
                "or omit level to infer it from the code",
            )

    inferred_parent = parent_code_for(code)
    parent_code: str | None = inferred_parent
    if "parent_code" in props:
        raw_parent = props["parent_code"]
        if raw_parent is None:
            parent_code = None  # an explicit null makes this a root (e.g. a county-level deployment)
        else:
            parent_code = _code_of(raw_parent)
            if not parent_code or code_error(parent_code):
                fail(
                    "parent_code_format",
                    f"parent_code {raw_parent!r} 不是有效的区划代码",
                    f"parent_code {raw_parent!r} is not a valid division code",
                )
            elif parent_code not in ancestor_codes(code):
                fail(
                    "parent_mismatch",
                    f"parent_code {parent_code} 与代码不符：按代码结构，上级应为 {inferred_parent}"
                    f"（或更高一级：{', '.join(ancestor_codes(code)[1:]) or '无'}）",
                    f"parent_code {parent_code} does not match the code: by its structure the parent is "
                    f"{inferred_parent} (or a level above: {', '.join(ancestor_codes(code)[1:]) or 'none'})",
                )

    name = props.get("name", props.get("name_zh"))
    if not isinstance(name, str) or not name.strip():
        fail("name_missing", "缺少中文名称 name", "The Chinese name (name) is missing")
        name = ""
    elif len(name.strip()) > 100:
        fail("name_too_long", "名称超过 100 个字符", "The name is longer than 100 characters")

    name_en = props.get("name_en", _MISSING)
    if name_en is not _MISSING and name_en is not None and (not isinstance(name_en, str) or len(name_en) > 150):
        fail("name_en_invalid", "name_en 应为不超过 150 个字符的文本", "name_en must be text of at most 150 characters")

    special = props.get("special", _MISSING)
    if special is not _MISSING and special is not None:
        if special not in SPECIAL_GRID_KINDS:
            fail(
                "special_unknown",
                f"special 为 {special!r}，应为以下之一：{', '.join(SPECIAL_GRID_KINDS)}",
                f"special is {special!r}; use one of: {', '.join(SPECIAL_GRID_KINDS)}",
            )
        elif level not in GRID_LEVELS:
            fail(
                "special_not_grid",
                f"只有网格可以设为专属网格（special），该要素是{level.label_zh}",
                f"Only grids can be special grids; this feature is a {level.value}",
            )

    population = props.get("population", _MISSING)
    if population is not _MISSING and population is not None:
        if isinstance(population, float) and population.is_integer():
            population = int(population)
        if isinstance(population, bool) or not isinstance(population, int) or population < 0:
            fail(
                "population_invalid",
                f"population 为 {population!r}，应为不小于 0 的整数",
                f"population is {population!r}; it must be a whole number ≥ 0",
            )

    geometry = feature.get("geometry")
    geom: BaseGeometry | None = None
    geometry_json: dict[str, Any] | None = None
    if geometry is None:
        if level in GRID_LEVELS:
            fail(
                "geometry_missing",
                "网格必须有边界：请提供 Polygon 或 MultiPolygon 几何图形",
                "A grid needs a boundary: provide a Polygon or MultiPolygon geometry",
            )
    else:
        geom, geometry_problems = parse_polygon(geometry)
        for gp in geometry_problems:
            fail(gp.kind, gp.message_zh, gp.message_en)
        if geom is not None:
            geometry_json = clean_geojson(geometry)

    # A row with problems is still returned so the duplicate and parent checks can mention it;
    # service.import_geojson never writes while any problem exists.
    return FeatureRow(
        index=index,
        code=code,
        level=level,
        parent_code=parent_code,
        name_zh=name.strip(),
        name_en=name_en.strip() if isinstance(name_en, str) else name_en,
        special=special,
        population=population,
        geom=geom,
        geometry_json=geometry_json,
    )


def parse_features(feature_collection: Any) -> tuple[list[FeatureRow], list[ImportProblem]]:
    """Check the file and each feature on its own; rows for every feature with a usable code."""
    problems: list[ImportProblem] = []
    if (
        not isinstance(feature_collection, dict)
        or feature_collection.get("type") != "FeatureCollection"
        or not isinstance(feature_collection.get("features"), list)
    ):
        problems.append(
            problem(
                "not_feature_collection",
                '文件不是 GeoJSON FeatureCollection：需要 "type": "FeatureCollection" 和 features 数组',
                'The file is not a GeoJSON FeatureCollection: it needs "type": "FeatureCollection" and a features array',
            )
        )
        return [], problems
    if not feature_collection["features"]:
        problems.append(problem("no_features", "文件中没有任何要素", "The file contains no features"))
        return [], problems
    crs = feature_collection.get("crs")
    if isinstance(crs, dict):
        name = str((crs.get("properties") or {}).get("name", ""))
        if name and not any(tag in name.upper() for tag in ("CRS84", "4326", "4490")):
            problems.append(
                problem(
                    "crs_unsupported",
                    f"坐标参考系为 {name}：请导出为 WGS84 经纬度（EPSG:4326）后再导入",
                    f"The coordinate reference system is {name}: export as WGS84 lon/lat (EPSG:4326) and import again",
                )
            )
    rows = []
    for index, feature in enumerate(feature_collection["features"]):
        row = _parse_one(index, feature, problems)
        if row is not None:
            rows.append(row)
    return rows, problems


# ---------------------------------------------------------------------------------------
# Checks across features and against the database
# ---------------------------------------------------------------------------------------


@dataclass
class _Shape:
    """One polygon taking part in the tree checks: a file row or a region already stored."""

    code: str
    parent_code: str | None
    geom: BaseGeometry
    index: int | None  # None: stored in the database, not in this file


def _pct(x: float) -> str:
    """A share as a percentage with one decimal."""
    return f"{100.0 * x:.1f}%"


def check_tree(
    rows: Sequence[FeatureRow],
    *,
    known: Mapping[str, KnownRegion],
    stored_children: Sequence[KnownRegion] = (),
) -> list[ImportProblem]:
    """Duplicates, parents, containment and sibling overlaps, for the file against the database.

    ``known`` holds the stored regions for every code and parent code in the file.
    ``stored_children`` holds stored regions not in the file whose parent is a parent of a
    file row (they are siblings to check for overlaps) or a file row itself (they must stay
    inside their parent's new boundary).
    """
    problems: list[ImportProblem] = []

    # 1. Duplicate codes inside the file: the first occurrence stays, later ones are errors.
    first: dict[str, FeatureRow] = {}
    unique: list[FeatureRow] = []
    for row in rows:
        seen = first.get(row.code)
        if seen is not None:
            problems.append(
                problem(
                    "duplicate_code",
                    f"代码与 features[{seen.index}] 重复：同一代码只能出现一次，请删除或更正其中一个",
                    f"The code repeats features[{seen.index}]: a code may appear once; remove or correct one",
                    index=row.index,
                    code=row.code,
                    related_index=seen.index,
                    related_code=seen.code,
                )
            )
            continue
        first[row.code] = row
        unique.append(row)

    # 2. Codes already stored under another parent: import never moves a region in the tree
    #    (its path, and every record filed under it, would silently change).
    moved: set[str] = set()
    for row in unique:
        stored = known.get(row.code)
        if stored is not None and stored.parent_code != row.parent_code:
            moved.add(row.code)
            problems.append(
                problem(
                    "duplicate_code_db",
                    f"代码已存在于系统中，但上级为 {stored.parent_code or '无（根）'}，本文件中上级为 "
                    f"{row.parent_code or '无（根）'}：代码全局唯一，请核对代码；导入不能调整区域的上级",
                    f"The code already exists under parent {stored.parent_code or 'none (root)'} but this file "
                    f"puts it under {row.parent_code or 'none (root)'}: codes are unique; check the code "
                    "(an import cannot move a region to another parent)",
                    index=row.index,
                    code=row.code,
                    related_code=stored.parent_code,
                )
            )

    # 3. Parents must exist, in the file or in the database.
    #    A root (no parent) is a city, or any region given an explicit "parent_code": null.
    for row in unique:
        if row.parent_code is not None and row.parent_code not in first and row.parent_code not in known:
            problems.append(
                problem(
                    "unknown_parent",
                    f"上级 {row.parent_code} 既不在本文件中，也不在系统中：请先导入上级，或把上级一并放入本文件",
                    f"The parent {row.parent_code} is neither in this file nor in the database: import the "
                    "parent first, or include it in this file",
                    index=row.index,
                    code=row.code,
                    related_code=row.parent_code,
                )
            )

    # Geometry checks below would only repeat a wrong parent as overlaps: leave such rows out.
    unique = [row for row in unique if row.code not in moved]

    # 4. Children inside parents (with tolerance), including stored children of re-imported parents.
    def parent_geom(code: str | None) -> BaseGeometry | None:
        if code is None:
            return None
        if code in first and first[code].geom is not None:
            return first[code].geom
        stored = known.get(code)  # also a file row without geometry: its stored polygon stays
        return stored.geom if stored is not None else None

    pairs: list[tuple[_Shape, BaseGeometry]] = []
    for row in unique:
        pg = parent_geom(row.parent_code)
        if row.geom is not None and pg is not None:
            pairs.append((_Shape(row.code, row.parent_code, row.geom, row.index), pg))
    for child in stored_children:
        if child.parent_code in first and child.geom is not None and first[child.parent_code].geom is not None:
            pairs.append((_Shape(child.code, child.parent_code, child.geom, None), first[child.parent_code].geom))
    problems.extend(_containment_problems(pairs, first))

    # 5. Siblings must not overlap (beyond tolerance): file rows against each other and
    #    against stored siblings that stay.
    row_parents = {row.parent_code for row in unique}
    shapes = [_Shape(r.code, r.parent_code, r.geom, r.index) for r in unique if r.geom is not None]
    shapes += [
        _Shape(c.code, c.parent_code, c.geom, None)
        for c in stored_children
        if c.geom is not None and c.parent_code in row_parents and c.code not in first
    ]
    problems.extend(_overlap_problems(shapes))
    return problems


def _containment_problems(pairs: list[tuple[_Shape, BaseGeometry]], first: Mapping[str, FeatureRow]) -> list[ImportProblem]:
    """Children whose area outside their parent exceeds CONTAINMENT_TOLERANCE of their own area."""
    if not pairs:
        return []
    children = np.array([c.geom for c, _ in pairs], dtype=object)
    parents = np.array([p for _, p in pairs], dtype=object)
    shapely.prepare(parents)
    # Fast path first: most children are covered outright; only the rest need an overlay.
    suspects = np.flatnonzero(~shapely.covers(parents, children))
    if suspects.size == 0:
        return []
    outside = shapely.area(shapely.difference(children[suspects], parents[suspects]))
    own = shapely.area(children[suspects])
    problems = []
    for k, out_area, area in zip(suspects, outside, own):
        share = out_area / area if area > 0 else 1.0
        if share <= CONTAINMENT_TOLERANCE:
            continue
        child = pairs[k][0]
        m2 = area_m2(children[k]) * share  # the ratio is projection-independent; scale once for the message
        if child.index is not None:
            problems.append(
                problem(
                    "outside_parent",
                    f"有 {_pct(share)}（约 {m2:,.0f} 平方米）超出上级 {child.parent_code} 的边界（允许 "
                    f"{_pct(CONTAINMENT_TOLERANCE)}）：请修正边界，或核对上级代码",
                    f"{_pct(share)} (about {m2:,.0f} m²) lies outside its parent {child.parent_code} "
                    f"(allowed {_pct(CONTAINMENT_TOLERANCE)}): fix the boundary, or check the parent code",
                    index=child.index,
                    code=child.code,
                    related_code=child.parent_code,
                )
            )
        else:
            parent_row = first[child.parent_code]  # type: ignore[index]
            problems.append(
                problem(
                    "existing_child_outside",
                    f"新边界会使系统中已有的下级 {child.code} 有 {_pct(share)} 落在边界之外：请调整边界，"
                    "或在同一文件中一并更新该下级的边界",
                    f"The new boundary leaves {_pct(share)} of the stored child {child.code} outside: adjust "
                    "the boundary, or update that child's boundary in the same file",
                    index=parent_row.index,
                    code=parent_row.code,
                    related_code=child.code,
                )
            )
    return problems


def _overlap_problems(shapes: list[_Shape]) -> list[ImportProblem]:
    """Sibling pairs whose overlap exceeds OVERLAP_TOLERANCE of the smaller one (STRtree, not O(n²))."""
    if len(shapes) < 2:
        return []
    geoms = np.array([s.geom for s in shapes], dtype=object)
    tree = STRtree(geoms)
    left, right = tree.query(geoms, predicate="intersects")
    keep = left < right
    left, right = left[keep], right[keep]
    parents = np.array([s.parent_code or "" for s in shapes], dtype=object)
    in_file = np.array([s.index is not None for s in shapes])
    keep = (parents[left] == parents[right]) & (in_file[left] | in_file[right])
    left, right = left[keep], right[keep]
    if left.size == 0:
        return []
    # Neighbours in a tiling share edges; only pairs whose interiors meet in an area can overlap.
    interiors = shapely.relate_pattern(geoms[left], geoms[right], "2********")
    left, right = left[interiors], right[interiors]
    if left.size == 0:
        return []
    overlap = shapely.area(shapely.intersection(geoms[left], geoms[right]))
    smaller = np.minimum(shapely.area(geoms[left]), shapely.area(geoms[right]))
    share = np.where(smaller > 0, overlap / np.where(smaller > 0, smaller, 1.0), 1.0)
    problems = []
    for i, j, s, ov in zip(left, right, share, overlap):
        if s <= OVERLAP_TOLERANCE:
            continue
        a, b = shapes[i], shapes[j]
        if a.index is None:  # report on the file's feature
            a, b = b, a
        proj = projection_for(a.geom)
        m2 = ov * proj.kx * proj.ky
        if b.index is not None:
            where_zh, where_en = f"同级要素 features[{b.index}]（代码 {b.code}）", f"its sibling features[{b.index}] (code {b.code})"
        else:
            where_zh, where_en = f"系统中已有的同级区域 {b.code} ", f"the stored sibling region {b.code}"
        problems.append(
            problem(
                "sibling_overlap",
                f"与{where_zh}重叠约 {m2:,.0f} 平方米（占较小者的 {_pct(s)}，允许 "
                f"{_pct(OVERLAP_TOLERANCE)}）：请修正两者的公共边界",
                f"Overlaps {where_en} by about {m2:,.0f} m² ({_pct(s)} of the smaller one; "
                f"allowed {_pct(OVERLAP_TOLERANCE)}): fix their shared boundary",
                index=a.index,
                code=a.code,
                related_index=b.index,
                related_code=b.code,
            )
        )
    return problems


def import_order(rows: Sequence[FeatureRow]) -> list[FeatureRow]:
    """Rows parents-first (by level, then code), so every parent exists before its children."""
    return sorted(rows, key=lambda r: (r.level.rank, r.code))
