"""The demo city's geography: 云州市 (Yunzhou), a fictional city with codes starting ``99``.

``generate_city(scale=..., seed=...)`` returns a GeoJSON FeatureCollection that
``civicgrid.regions.service.import_geojson`` accepts, so the demo goes through the real
import path and its validation. Every level tiles its parent with no gaps and no overlaps:
seeded points inside the parent, two rounds of Lloyd relaxation for even shapes, Voronoi
cells clipped to the parent, recursively city → districts → streets → communities → grids.
The city outline is convex and Voronoi cells are convex, so every polygon is a convex
Polygon (never a MultiPolygon). Work is done in local metres and converted to lon/lat once.

The same seed gives the same city, byte for byte.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np
import shapely
from shapely.geometry import MultiPoint, Polygon
from shapely.geometry.base import BaseGeometry

from civicgrid.regions.geometry import LocalProjection, geometry_to_geojson

DEFAULT_SEED = 20260101
CITY_CODE = "990100000000"
CITY_NAME = ("云州市", "Yunzhou")
# A plausible south-eastern coastal setting for a fictional city; nothing here is real data.
CENTRE_LON, CENTRE_LAT = 119.30, 26.08

Scale = Literal["small", "city"]


@dataclass(frozen=True)
class ScalePlan:
    """How many regions of each level to generate, and the city's radius in metres."""

    districts: int
    streets: int
    communities: int
    grids: int
    radius_m: float


# Radii keep the grid size near 0.1–0.4 km² (a few hundred households) at both scales.
SCALES: dict[str, ScalePlan] = {
    "small": ScalePlan(districts=3, streets=12, communities=50, grids=500, radius_m=4_500.0),
    "city": ScalePlan(districts=9, streets=90, communities=1_000, grids=10_000, radius_m=20_000.0),
}

# Centre first, then by compass bearing (degrees counter-clockwise from east), so a
# 3-district city is centre/east/west and the names match where the districts lie.
DISTRICTS = [
    ("云湖", "Yunhu", None),
    ("东岭", "Dongling", 0.0),
    ("西江", "Xijiang", 180.0),
    ("北塘", "Beitang", 90.0),
    ("南屏", "Nanping", 270.0),
    ("青山", "Qingshan", 45.0),
    ("临溪", "Linxi", 135.0),
    ("白沙", "Baisha", 225.0),
    ("望海", "Wanghai", 315.0),
]

NAME_FIRST = [
    ("金", "jin"), ("银", "yin"), ("玉", "yu"), ("翠", "cui"), ("碧", "bi"), ("丹", "dan"),
    ("紫", "zi"), ("青", "qing"), ("梅", "mei"), ("兰", "lan"), ("竹", "zhu"), ("菊", "ju"),
    ("松", "song"), ("柳", "liu"), ("桂", "gui"), ("桃", "tao"), ("杏", "xing"), ("枫", "feng"),
    ("凤", "feng"), ("龙", "long"), ("鹤", "he"), ("鹿", "lu"), ("榆", "yu"), ("槐", "huai"),
    ("荷", "he"), ("莲", "lian"), ("锦", "jin"), ("福", "fu"), ("安", "an"), ("宁", "ning"),
    ("康", "kang"), ("泰", "tai"), ("和", "he"), ("兴", "xing"), ("明", "ming"), ("瑞", "rui"),
]
NAME_SECOND = [
    ("山", "shan"), ("岭", "ling"), ("溪", "xi"), ("湖", "hu"), ("塘", "tang"), ("桥", "qiao"),
    ("湾", "wan"), ("洲", "zhou"), ("坪", "ping"), ("园", "yuan"), ("苑", "yuan"), ("坊", "fang"),
    ("亭", "ting"), ("泉", "quan"), ("峰", "feng"), ("岗", "gang"), ("浦", "pu"), ("庄", "zhuang"),
    ("林", "lin"), ("田", "tian"), ("港", "gang"), ("门", "men"), ("阳", "yang"), ("桐", "tong"),
]
NAME_PREFIXES = [("新", "xin"), ("东", "dong"), ("西", "xi"), ("南", "nan"), ("北", "bei"), ("上", "shang")]

CN_DIGITS = "零一二三四五六七八九"

# Share of grids that are special (专属网格), and the mix of kinds among them.
SPECIAL_SHARE = 0.02
SPECIAL_MIX = [("school", 0.4), ("park", 0.2), ("industrial", 0.2), ("hospital", 0.1), ("market", 0.1)]

# Residents per grid (brief: about 1,500–3,000 for an ordinary residential grid).
POPULATION = {
    None: (1_500, 3_000),
    "school": (300, 1_200),  # staff housing; pupils live in residential grids
    "park": (0, 150),
    "industrial": (300, 1_500),  # dormitories
    "hospital": (200, 800),
    "market": (800, 2_000),
}

LLOYD_ROUNDS = 2


@dataclass
class _Node:
    """One region while it is being built (geometry in local metres)."""

    code: str
    level: str
    name_zh: str
    name_en: str
    geom: Polygon
    special: str | None = None
    population: int = 0
    children: list[_Node] = field(default_factory=list)


# ---------------------------------------------------------------------------------------
# Names
# ---------------------------------------------------------------------------------------


def pinyin_join(syllables: list[str]) -> str:
    """Join pinyin syllables into one capitalised word, with an apostrophe before a/e/o (Xi'an)."""
    word = ""
    for s in syllables:
        if word and s[0] in "aeo":
            word += "'"
        word += s
    return word[:1].upper() + word[1:]


def chinese_number(n: int) -> str:
    """A Chinese numeral for 1–99 (一, 十, 十二, 二十, 二十一…)."""
    if not 1 <= n <= 99:
        raise ValueError(n)
    tens, ones = divmod(n, 10)
    if tens == 0:
        return CN_DIGITS[ones]
    head = "" if tens == 1 else CN_DIGITS[tens]
    return head + "十" + (CN_DIGITS[ones] if ones else "")


class _NamePool:
    """Unique two-character place names (plus pinyin), drawn in a seeded order."""

    def __init__(self, rng: np.random.Generator) -> None:
        base = [(a + b, [pa, pb]) for a, pa in NAME_FIRST for b, pb in NAME_SECOND]
        order: list[tuple[str, list[str]]] = [base[i] for i in rng.permutation(len(base))]
        # When the base pairs run out (only at large scales), prefixed names such as 新金山 follow.
        for p, pp in NAME_PREFIXES:
            order += [(p + zh, [pp, *py]) for zh, py in (base[i] for i in rng.permutation(len(base)))]
        self._order = order
        self._next = 0

    def take(self) -> tuple[str, str]:
        """The next unused name as (Chinese, pinyin)."""
        zh, py = self._order[self._next]
        self._next += 1
        return zh, pinyin_join(py)


# ---------------------------------------------------------------------------------------
# Shapes
# ---------------------------------------------------------------------------------------


def _density(x: np.ndarray, y: np.ndarray, radius: float) -> np.ndarray:
    """Relative settlement density: a dense core fading to the outskirts (small grids in the centre)."""
    r = np.hypot(x, y)
    return 0.35 + 2.0 * np.exp(-((r / (0.45 * radius)) ** 2))


def _city_outline(radius: float, rng: np.random.Generator) -> Polygon:
    """A smooth, convex, slightly irregular outline (low harmonics keep it convex)."""
    theta = np.linspace(0.0, 2.0 * math.pi, 160, endpoint=False)
    phase = rng.uniform(0.0, 2.0 * math.pi, size=2)
    r = radius * (1.0 + 0.09 * np.sin(2 * theta + phase[0]) + 0.045 * np.sin(3 * theta + phase[1]))
    return Polygon(np.column_stack([r * np.cos(theta), r * np.sin(theta)]))


def _sample_in(poly: BaseGeometry, n: int, rng: np.random.Generator, radius: float) -> np.ndarray:
    """``n`` seeded points inside ``poly``, denser where the settlement density is higher."""
    minx, miny, maxx, maxy = poly.bounds
    shapely.prepare(poly)
    got: list[np.ndarray] = []
    count = 0
    while count < n:
        m = max(64, 4 * n)
        xs = rng.uniform(minx, maxx, m)
        ys = rng.uniform(miny, maxy, m)
        keep = shapely.contains_xy(poly, xs, ys)
        keep &= rng.uniform(0.0, 2.35, m) < _density(xs, ys, radius)
        pts = np.column_stack([xs[keep], ys[keep]])
        got.append(pts)
        count += len(pts)
    return np.concatenate(got)[:n]


def _voronoi_cells(parent: Polygon, seeds: np.ndarray) -> list[Polygon]:
    """The Voronoi cells of ``seeds`` clipped to ``parent``, in seed order."""
    minx, miny, maxx, maxy = parent.bounds
    pad = max(maxx - minx, maxy - miny)
    frame = shapely.box(minx - pad, miny - pad, maxx + pad, maxy + pad)
    cells = shapely.voronoi_polygons(MultiPoint(seeds), extend_to=frame, ordered=True)
    clipped = shapely.intersection(np.array(cells.geoms, dtype=object), parent)
    return [shapely.normalize(c) for c in clipped]


def tile(parent: Polygon, n: int, rng: np.random.Generator, radius: float) -> list[Polygon]:
    """Split ``parent`` into ``n`` cells that cover it exactly (Lloyd-relaxed Voronoi)."""
    if n <= 1:
        return [parent]
    seeds = _sample_in(parent, n, rng, radius)
    for _ in range(LLOYD_ROUNDS):
        cells = _voronoi_cells(parent, seeds)
        seeds = np.array([[c.centroid.x, c.centroid.y] for c in cells])
    return _voronoi_cells(parent, seeds)


def _allocate(total: int, weights: list[float], minimum: int) -> list[int]:
    """Split ``total`` into integer shares proportional to ``weights`` (largest remainder), each ≥ minimum."""
    k = len(weights)
    spare = total - minimum * k
    if spare < 0:
        raise ValueError("total too small for the minimum share")
    w = np.asarray(weights, dtype=float)
    exact = spare * w / w.sum()
    shares = np.floor(exact).astype(int)
    for i in np.argsort(-(exact - shares), kind="stable")[: spare - int(shares.sum())]:
        shares[i] += 1
    return [int(s) + minimum for s in shares]


def _weight(poly: Polygon, radius: float) -> float:
    """How many sub-regions a region deserves: its area times the density at its centroid."""
    c = poly.centroid
    return poly.area * float(_density(np.array([c.x]), np.array([c.y]), radius)[0])


def _reading_order(polys: list[Polygon]) -> list[int]:
    """Indices sorted north-west to south-east (rows of ~1 km), the order codes are given in."""
    keys = [(-round(p.centroid.y / 1000.0), p.centroid.x) for p in polys]
    return sorted(range(len(polys)), key=lambda i: keys[i])


# ---------------------------------------------------------------------------------------
# The city
# ---------------------------------------------------------------------------------------


def _districts(city: _Node, plan: ScalePlan, rng: np.random.Generator) -> list[Polygon]:
    """District polygons: the centre district plus a ring, Voronoi-split so bearings match names."""
    seeds = []
    for _, _, bearing in DISTRICTS[: plan.districts]:
        if bearing is None:
            seeds.append(rng.normal(0.0, 0.03 * plan.radius_m, 2))
        else:
            a = math.radians(bearing + rng.uniform(-10.0, 10.0))
            r = plan.radius_m * rng.uniform(0.55, 0.68)
            seeds.append([r * math.cos(a), r * math.sin(a)])
    return _voronoi_cells(city.geom, np.array(seeds))


def _build(plan: ScalePlan, seed: int) -> _Node:
    """Build the whole tree in local metres."""
    rng = np.random.default_rng(seed)
    names = _NamePool(rng)
    radius = plan.radius_m
    city = _Node(CITY_CODE, "city", CITY_NAME[0], CITY_NAME[1], _city_outline(radius, rng))

    for d, poly in enumerate(_districts(city, plan, rng)):
        zh, en, _ = DISTRICTS[d]
        city.children.append(_Node(f"9901{d + 2:02d}000000", "district", f"{zh}区", f"{en} District", poly))

    street_counts = _allocate(plan.streets, [_weight(n.geom, radius) for n in city.children], 2)
    for district, count in zip(city.children, street_counts):
        polys = tile(district.geom, count, rng, radius)
        for s, i in enumerate(_reading_order(polys), start=1):
            zh, en = names.take()
            code = f"{district.code[:6]}{s:03d}000"  # 001–099: 街道 in the statistical code rules
            district.children.append(_Node(code, "street", f"{zh}街道", f"{en} Subdistrict", polys[i]))

    streets = [s for d in city.children for s in d.children]
    community_counts = _allocate(plan.communities, [_weight(s.geom, radius) for s in streets], 2)
    for street, count in zip(streets, community_counts):
        polys = tile(street.geom, count, rng, radius)
        urban_no, village_no = 1, 201  # 001–199 居委会 (社区), 200–399 村委会 (村)
        for i in _reading_order(polys):
            zh, en = names.take()
            c = polys[i].centroid
            if math.hypot(c.x, c.y) < 0.6 * radius:
                code, name_zh, name_en = f"{street.code[:9]}{urban_no:03d}", f"{zh}社区", f"{en} Community"
                urban_no += 1
            else:
                code, name_zh, name_en = f"{street.code[:9]}{village_no:03d}", f"{zh}村", f"{en} Village"
                village_no += 1
            street.children.append(_Node(code, "community", name_zh, name_en, polys[i]))
        street.children.sort(key=lambda n: n.code)

    communities = [c for s in streets for c in s.children]
    grid_counts = _allocate(plan.grids, [_weight(c.geom, radius) for c in communities], 2)
    for community, count in zip(communities, grid_counts):
        polys = tile(community.geom, count, rng, radius)
        for g, i in enumerate(_reading_order(polys), start=1):
            community.children.append(_Node(f"{community.code}{g:03d}", "grid", f"第{g}网格", f"Grid {g}", polys[i]))

    _make_special(city, plan, rng)
    _populate(city, rng)
    return city


def _make_special(city: _Node, plan: ScalePlan, rng: np.random.Generator) -> None:
    """Turn a few grids into special grids (专属网格) with fitting names."""
    lineage: list[tuple[_Node, _Node, _Node, _Node]] = [
        (d, s, c, g) for d in city.children for s in d.children for c in s.children for g in c.children
    ]
    total = max(5, round(plan.grids * SPECIAL_SHARE))
    counts = _allocate(total, [share for _, share in SPECIAL_MIX], 1)
    outer = [i for i, (*_, g) in enumerate(lineage) if math.hypot(g.geom.centroid.x, g.geom.centroid.y) > 0.5 * plan.radius_m]
    taken: set[int] = set()
    numbered = {"school": 0, "hospital": 0}
    for (kind, _), count in zip(SPECIAL_MIX, counts):
        # Industrial parks sit on the outskirts; everything else anywhere.
        pool = outer if kind == "industrial" and len(outer) > count else range(len(lineage))
        candidates = [i for i in pool if i not in taken]
        for i in rng.choice(candidates, size=count, replace=False):
            i = int(i)
            taken.add(i)
            district, street, community, grid = lineage[i]
            base_c = community.name_zh[:-2] if community.name_zh.endswith("社区") else community.name_zh[:-1]
            en_c = community.name_en.rsplit(" ", 1)[0]
            if kind == "school":
                numbered["school"] += 1
                k = numbered["school"]
                if k % 2:
                    zh, en = f"云州市第{chinese_number(k // 2 + 1)}中学", f"Yunzhou No. {k // 2 + 1} Middle School"
                else:
                    zh, en = f"{base_c}小学", f"{en_c} Primary School"
            elif kind == "park":
                zh, en = f"{base_c}公园", f"{en_c} Park"
            elif kind == "industrial":
                zh, en = f"{street.name_zh[:-2]}工业园", f"{street.name_en.rsplit(' ', 1)[0]} Industrial Park"
            elif kind == "hospital":
                numbered["hospital"] += 1
                k = numbered["hospital"]
                zh, en = f"云州市第{chinese_number(k)}人民医院", f"Yunzhou No. {k} People's Hospital"
            else:
                zh, en = f"{base_c}农贸市场", f"{en_c} Farmers' Market"
            grid.special = kind
            grid.name_zh = f"{zh}专属网格"
            grid.name_en = f"{en} Grid"


def _populate(node: _Node, rng: np.random.Generator) -> int:
    """Give each grid a resident count and every parent the sum of its children."""
    if node.level == "grid":
        low, high = POPULATION[node.special]
        node.population = int(rng.integers(low, high + 1))
    else:
        node.population = sum(_populate(child, rng) for child in node.children)
    return node.population


def _walk(node: _Node):
    """Every node, parents before children."""
    yield node
    for child in node.children:
        yield from _walk(child)


def generate_city(*, scale: Scale = "small", seed: int = DEFAULT_SEED) -> dict[str, Any]:
    """The demo city as a GeoJSON FeatureCollection ready for ``import_geojson``."""
    if scale not in SCALES:
        raise ValueError(f"unknown scale {scale!r}; choose one of {sorted(SCALES)}")
    root = _build(SCALES[scale], seed)
    nodes = list(_walk(root))
    projection = LocalProjection(CENTRE_LAT)
    # Metres → degrees is one affine map for every vertex, so shared edges stay shared.
    shift = np.array([CENTRE_LON, CENTRE_LAT])
    scale_xy = np.array([projection.kx, projection.ky])
    lonlat = shapely.transform(np.array([n.geom for n in nodes], dtype=object), lambda c: c / scale_xy + shift)
    features = []
    for node, geom in zip(nodes, lonlat):
        props: dict[str, Any] = {
            "code": node.code,
            "name": node.name_zh,
            "name_en": node.name_en,
            "level": node.level,
            "population": node.population,
        }
        if node.special:
            props["special"] = node.special
        features.append({"type": "Feature", "properties": props, "geometry": geometry_to_geojson(geom)})
    return {
        "type": "FeatureCollection",
        "name": "yunzhou-demo",
        "properties": {"note": "云州市为虚构城市，仅用于演示 / Yunzhou is a fictional city for demonstration only"},
        "features": features,
    }


def random_points_in(region_geom: BaseGeometry, n: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """``n`` uniformly random (lons, lats) inside ``region_geom`` (for generating demo cases)."""
    minx, miny, maxx, maxy = region_geom.bounds
    shapely.prepare(region_geom)
    lons: list[np.ndarray] = []
    lats: list[np.ndarray] = []
    have = 0
    # Rejection sampling from the bounding box; the hit rate is the area ratio (≥ 50 % for convex shapes).
    while have < n:
        m = max(32, 2 * (n - have))
        xs = rng.uniform(minx, maxx, m)
        ys = rng.uniform(miny, maxy, m)
        keep = shapely.contains_xy(region_geom, xs, ys)
        lons.append(xs[keep])
        lats.append(ys[keep])
        have += int(keep.sum())
    return np.concatenate(lons)[:n], np.concatenate(lats)[:n]
