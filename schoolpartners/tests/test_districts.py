"""Point-in-district: the pure even-odd test and England's districts from the bundle."""

from __future__ import annotations

import numpy as np

from schoolpartners.districts import district_names, districts
from schoolpartners.geo import points_in_polygons


def square(x0: float, y0: float, size: float) -> np.ndarray:
    return np.array([[x0, y0], [x0 + size, y0], [x0 + size, y0 + size], [x0, y0 + size]], dtype=float)


def test_rings_holes_and_parts() -> None:
    polygons = [
        [square(0, 0, 10), square(4, 4, 2)],  # a square with a square hole
        [square(20, 0, 1), square(30, 0, 1)],  # two parts (a MultiPolygon flattened)
        [square(0, 0, 100)],  # overlaps the first: the first polygon that contains a point wins
    ]
    lons = np.array([1.0, 5.0, 20.5, 30.5, 25.0, 50.0, 200.0])
    lats = np.array([1.0, 5.0, 0.5, 0.5, 0.5, 50.0, 0.0])
    assert points_in_polygons(lats, lons, polygons).tolist() == [0, 2, 1, 1, 2, 2, -1]


def test_no_points_and_empty_polygon() -> None:
    assert points_in_polygons(np.array([]), np.array([]), [[square(0, 0, 1)]]).tolist() == []
    assert points_in_polygons(np.array([0.5]), np.array([0.5]), [[], [square(0, 0, 1)]]).tolist() == [1]


def test_england_districts_from_the_bundle() -> None:
    d = districts()
    assert len(d.names) == 296 and len(set(d.names)) == 296
    # Birmingham city centre, Penzance, Hull, Cardiff (Wales: no English district), the North Sea
    names = district_names(
        [52.4797, 50.1186, 53.7457, 51.4816, 54.5], [-1.9026, -5.5371, -0.3367, -3.1791, 2.0]
    )
    assert names == ["Birmingham", "Cornwall", "Kingston upon Hull, City of", None, None]
