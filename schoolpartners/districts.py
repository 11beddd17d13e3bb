"""England's 296 local authority districts (ONS, May 2024, ultra-generalised; Open Government Licence), read from
the data bundle: which district a point lies in, for maps and tables that group places by district."""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np
from django.conf import settings

from schoolpartners import decompress
from schoolpartners.geo import points_in_polygons

FILE = "england_lad_2024-05_buc.geojson.xz"
SOURCE = "ONS Local Authority Districts (May 2024) Boundaries UK BUC, English districts"


@dataclass(frozen=True)
class Districts:
    names: list[str]
    polygons: list[list[np.ndarray]]


def bundle_path() -> Path:
    return Path(settings.BASE_DIR) / "data" / "bundle" / FILE


@lru_cache(maxsize=1)
def districts() -> Districts:
    gj = json.loads(decompress.read(bundle_path()))
    names: list[str] = []
    polygons: list[list[np.ndarray]] = []
    for feature in gj["features"]:
        geom = feature["geometry"]
        parts = geom["coordinates"] if geom["type"] == "MultiPolygon" else [geom["coordinates"]]
        names.append(str(feature["properties"]["name"]))
        polygons.append([np.asarray(ring, dtype=float)[:, :2] for part in parts for ring in part])
    return Districts(names, polygons)


def district_names(lats: list[float], lons: list[float]) -> list[str | None]:
    """The district of each point (None outside every English district, e.g. offshore or in Wales)."""
    if not lats:
        return []
    d = districts()
    idx = points_in_polygons(np.asarray(lats, dtype=float), np.asarray(lons, dtype=float), d.polygons)
    return [d.names[i] if i >= 0 else None for i in idx]
