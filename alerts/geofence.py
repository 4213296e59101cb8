"""Areas on the map: fast containment tests and distances to their edge."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

import shapely
from geopy.distance import geodesic
from shapely.geometry import shape
from shapely.ops import nearest_points

from models.localtime import in_hours
from models.values import Days

METRES_PER_DEGREE = 111_320.0


def circle(lat: float, lon: float, radius_m: float) -> dict[str, Any]:
    """A GeoJSON polygon approximating a circle (for ports and meeting places)."""
    geometry = shapely.Point(lon, lat).buffer(radius_m / METRES_PER_DEGREE, quad_segs=8)
    return dict(shapely.geometry.mapping(geometry))


class Area:
    """A polygon in lon/lat (GeoJSON order), prepared for repeated point tests."""

    def __init__(self, geojson: dict[str, Any], buffer_m: float = 0.0) -> None:
        polygon = shape(geojson)
        if polygon.geom_type not in ("Polygon", "MultiPolygon") or not polygon.is_valid:
            raise ValueError(f"not a valid polygon: {geojson.get('type')}")
        # Buffers in degrees of latitude: within a few percent at these latitudes and sizes.
        self.polygon = polygon.buffer(buffer_m / METRES_PER_DEGREE) if buffer_m else polygon
        shapely.prepare(self.polygon)

    def contains(self, lat: float, lon: float) -> bool:
        return bool(shapely.contains_xy(self.polygon, lon, lat))

    def distance_to_edge_m(self, lat: float, lon: float) -> float:
        """Geodesic distance from a point to the nearest point of the area's boundary."""
        edge, _ = nearest_points(self.polygon.boundary, shapely.Point(lon, lat))
        return float(geodesic((lat, lon), (edge.y, edge.x)).meters)


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
