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
