"""Areas on the map: fast containment tests and distances to their edge; the distance
between two points."""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import shapely
from geopy.distance import EARTH_RADIUS, geodesic
from shapely.geometry import shape
from shapely.ops import nearest_points

from models.localtime import in_hours
from models.values import Days

METRES_PER_DEGREE = 111_320.0
GRID = 64  # cells a side of an area's grid (:class:`Area`)
INSIDE, OUTSIDE, EDGE = 1, 0, 2
EARTH_RADIUS_M = float(EARTH_RADIUS) * 1000  # geopy's, so distances equal its great circle
_EPS = 1e-9  # degrees a cell is widened by when classified: a point is never misplaced


def metres_between(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    """The great-circle distance, as ``geopy.distance.great_circle(...).meters`` gives it
    (the same formula and earth radius) without building geopy's points: it is on every
    fix's path, where geopy's objects cost ten times the arithmetic."""
    p1, p2, dl = math.radians(lat1), math.radians(lat2), math.radians(lon2 - lon1)
    s1, c1, s2, c2, sd, cd = (
        math.sin(p1),
        math.cos(p1),
        math.sin(p2),
        math.cos(p2),
        math.sin(dl),
        math.cos(dl),
    )
    angle = math.atan2(math.hypot(c2 * sd, c1 * s2 - s1 * c2 * cd), s1 * s2 + c1 * c2 * cd)
    return EARTH_RADIUS_M * angle


def circle(lat: float, lon: float, radius_m: float) -> dict[str, Any]:
    """A GeoJSON polygon approximating a circle (for ports and meeting places)."""
    geometry = shapely.Point(lon, lat).buffer(radius_m / METRES_PER_DEGREE, quad_segs=8)
    return dict(shapely.geometry.mapping(geometry))


class Area:
    """A polygon in lon/lat (GeoJSON order), prepared for repeated point tests.

    Its bounding box is cut into a grid of cells, each known to lie wholly inside the
    polygon, wholly outside, or on its edge: a point in a cell of the first two kinds is
    answered by one look-up, and only one near the edge is tested by shapely (the same
    answers: cells are classified widened by a hair, so a point rounding into a
    neighbour's cell is still inside the cell's test)."""

    def __init__(self, geojson: dict[str, Any], buffer_m: float = 0.0) -> None:
        polygon = shape(geojson)
        if polygon.geom_type not in ("Polygon", "MultiPolygon") or not polygon.is_valid:
            raise ValueError(f"not a valid polygon: {geojson.get('type')}")
        # Buffers in degrees of latitude: within a few percent at these latitudes and sizes.
        self.polygon = polygon.buffer(buffer_m / METRES_PER_DEGREE) if buffer_m else polygon
        shapely.prepare(self.polygon)
        self.x0, self.y0, self.x1, self.y1 = self.polygon.bounds
        self.per_x = GRID / max(self.x1 - self.x0, _EPS)
        self.per_y = GRID / max(self.y1 - self.y0, _EPS)
        self.cells = _cells(self.polygon, self.x0, self.y0, 1 / self.per_x, 1 / self.per_y)

    def contains(self, lat: float, lon: float) -> bool:
        if not (self.x0 < lon < self.x1 and self.y0 < lat < self.y1):  # NaN too
            return False  # the polygon's inside lies strictly within its bounds
        i = min(int((lon - self.x0) * self.per_x), GRID - 1)
        j = min(int((lat - self.y0) * self.per_y), GRID - 1)
        cell = self.cells[j * GRID + i]
        if cell != EDGE:
            return cell == INSIDE
        return bool(shapely.contains_xy(self.polygon, lon, lat))

    def distance_to_edge_m(self, lat: float, lon: float) -> float:
        """Geodesic distance from a point to the nearest point of the area's boundary."""
        edge, _ = nearest_points(self.polygon.boundary, shapely.Point(lon, lat))
        return float(geodesic((lat, lon), (edge.y, edge.x)).meters)


def _cells(polygon: Any, x0: float, y0: float, w: float, h: float) -> list[int]:
    """Each grid cell's kind, row by row from (x0, y0): inside only if the polygon holds it
    without touching its edge, outside only if they share no point."""
    corners = [(x0 + i * w - _EPS, y0 + j * h - _EPS) for j in range(GRID) for i in range(GRID)]
    left, bottom = [x for x, _ in corners], [y for _, y in corners]
    boxes = shapely.box(
        left, bottom, [x + w + 2 * _EPS for x in left], [y + h + 2 * _EPS for y in bottom]
    )
    inside = shapely.contains_properly(polygon, boxes).tolist()
    outside = shapely.disjoint(polygon, boxes).tolist()
    return [INSIDE if a else OUTSIDE if b else EDGE for a, b in zip(inside, outside, strict=True)]


@dataclass(frozen=True)
class Zone:
    """A forbidden zone of a prohibition order, some only at given local hours (a place
    forbidden at night is still a place: a home curfew is :mod:`alerts.curfew`)."""

    id: str
    name: str
    area: Area
    hours: tuple[int, int] | None = None  # local [from, to), may wrap midnight
    days: Days | None = None  # the order's days in force (None: always)

    def active(self, when: datetime) -> bool:
        return (self.days is None or self.days.holds(when)) and (
            self.hours is None or in_hours(when, self.hours)
        )
