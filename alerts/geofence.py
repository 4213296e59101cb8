"""Areas on the map: fast containment tests and distances to their edge."""

from __future__ import annotations

from typing import Any

import shapely
from geopy.distance import geodesic
from shapely.geometry import shape
from shapely.ops import nearest_points


class Area:
    """A polygon in lon/lat (GeoJSON order), prepared for repeated point tests."""

    def __init__(self, geojson: dict[str, Any]) -> None:
        self.polygon = shape(geojson)
        if self.polygon.geom_type not in ("Polygon", "MultiPolygon") or not self.polygon.is_valid:
            raise ValueError(f"not a valid polygon: {geojson.get('type')}")
        shapely.prepare(self.polygon)

    def contains(self, lat: float, lon: float) -> bool:
        return bool(shapely.contains_xy(self.polygon, lon, lat))

    def distance_to_edge_m(self, lat: float, lon: float) -> float:
        """Geodesic distance from a point to the nearest point of the area's boundary."""
        edge, _ = nearest_points(self.polygon.boundary, shapely.Point(lon, lat))
        return float(geodesic((lat, lon), (edge.y, edge.x)).meters)
