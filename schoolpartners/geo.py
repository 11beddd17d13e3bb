"""Great-circle distance, shared by every pure module (similarity, partnerships, brokerage). No Django import."""

from __future__ import annotations

from typing import Any

import numpy as np
from numpy.typing import NDArray

EARTH_RADIUS_MILES = 3958.8


def haversine_miles(
    lat1: Any, lon1: Any, lat2: Any, lon2: Any, radius: float = EARTH_RADIUS_MILES
) -> NDArray[np.float64]:
    """Great-circle distance in miles between points given in degrees (scalars or arrays; arrays broadcast)."""
    p1, p2 = np.radians(lat1), np.radians(lat2)
    dp = p2 - p1
    dl = np.radians(lon2) - np.radians(lon1)
    a = np.square(np.sin(dp / 2)) + np.cos(p1) * np.cos(p2) * np.square(np.sin(dl / 2))
    return np.asarray(2.0 * radius * np.arcsin(np.sqrt(np.clip(a, 0.0, 1.0))), dtype=np.float64)


def points_in_polygons(
    lats: NDArray[np.float64],
    lons: NDArray[np.float64],
    polygons: list[list[NDArray[np.float64]]],
) -> NDArray[np.int64]:
    """For each point, the index of the first polygon that contains it (-1 for none).

    A polygon is a list of rings, each an (n, 2) array of (lon, lat) vertices; a point is inside when it is inside
    an odd number of the polygon's rings (even-odd rule: outer rings and holes, MultiPolygon parts flattened).
    Bounding boxes first, then a vectorised ray cast over the candidate points of each ring.
    """
    lats = np.asarray(lats, dtype=float)
    lons = np.asarray(lons, dtype=float)
    out = np.full(lats.shape[0], -1, dtype=np.int64)
    for index, rings in enumerate(polygons):
        if not rings:
            continue
        allv = np.concatenate(rings)
        lo_x, lo_y = allv.min(axis=0)
        hi_x, hi_y = allv.max(axis=0)
        cand = np.flatnonzero((out < 0) & (lons >= lo_x) & (lons <= hi_x) & (lats >= lo_y) & (lats <= hi_y))
        if cand.size == 0:
            continue
        x = lons[cand][:, None]
        y = lats[cand][:, None]
        inside = np.zeros(cand.size, dtype=bool)
        for ring in rings:
            x1, y1 = ring[:, 0][None, :], ring[:, 1][None, :]
            x2, y2 = np.roll(ring[:, 0], -1)[None, :], np.roll(ring[:, 1], -1)[None, :]
            crosses = (y1 > y) != (y2 > y)
            with np.errstate(divide="ignore", invalid="ignore"):
                x_at = (x2 - x1) * (y - y1) / (y2 - y1) + x1
            inside ^= (np.count_nonzero(crosses & (x < x_at), axis=1) % 2).astype(bool)
        out[cand[inside]] = index
    return out
