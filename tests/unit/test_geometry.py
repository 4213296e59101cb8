"""The hot path's geometry is exact: distances equal geopy's great circle, and an area's
grid of cells answers every point test as shapely does, on the edges too."""

from __future__ import annotations

import shapely
from geopy.distance import great_circle
from hypothesis import given, settings
from hypothesis import strategies as st

from alerts.geofence import Area, circle, metres_between
from ccwatch.reference import shengsi

COUNTY = Area(shengsi().county)
BUFFERED = Area(shengsi().county, 300.0)
SMALL = Area(circle(30.712, 122.451, 150.0))
lats, lons = st.floats(30.0, 31.2), st.floats(121.8, 123.2)


@given(lats, lons, lats, lons)
def test_metres_between_is_geopys_great_circle(a: float, b: float, c: float, d: float) -> None:
    expected = great_circle((a, b), (c, d)).meters
    assert abs(metres_between(a, b, c, d) - expected) <= 1e-6 * max(1.0, expected)


@settings(max_examples=2000)
@given(lats, lons)
def test_an_areas_grid_answers_as_shapely(lat: float, lon: float) -> None:
    for area in (COUNTY, BUFFERED, SMALL):
        assert area.contains(lat, lon) == bool(shapely.contains_xy(area.polygon, lon, lat))


def test_points_on_the_edges_and_vertices_answer_as_shapely() -> None:
    for area in (COUNTY, BUFFERED, SMALL):
        boundary = area.polygon.boundary
        points = [boundary.interpolate(i / 500, normalized=True) for i in range(500)] + [
            shapely.Point(x, y) for x, y in shapely.get_coordinates(boundary)
        ]
        for p in points:
            for dx, dy in ((0, 0), (1e-12, 0), (0, -1e-12), (-1e-9, 1e-9)):
                x, y = p.x + dx, p.y + dy
                assert area.contains(y, x) == bool(shapely.contains_xy(area.polygon, x, y))


def test_a_point_off_the_map_is_outside() -> None:
    assert not COUNTY.contains(float("nan"), 122.4)
    assert not COUNTY.contains(0.0, 0.0)
