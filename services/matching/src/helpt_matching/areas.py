"""Areas as tenant data: each municipality's postcodes, their centroids and neighbours, and its time zone.

From `areas/<tenant>.json` in the directory `HELPT_TENANT_DIR` names, if there is one there, or else
from the file shipped with matching (`data/areas/<tenant>.json`, Leuven's)."""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from zoneinfo import ZoneInfo

__all__ = ["Area", "Areas", "AreasFileError", "haversine_km", "load_areas"]

EARTH_RADIUS_KM = 6371.0088


@dataclass(frozen=True)
class Area:
    postcode: str
    name: str
    lat: float
    lon: float
    neighbours: frozenset[str]


def haversine_km(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    """Great-circle distance in kilometres."""
    p1, p2 = math.radians(lat1), math.radians(lat2)
    dp, dl = p2 - p1, math.radians(lon2 - lon1)
    a = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 2 * EARTH_RADIUS_KM * math.asin(math.sqrt(a))


class Areas:
    """One municipality's areas, and its time zone (volunteers' weekly availability is in local time)."""

    def __init__(self, areas: dict[str, Area], timezone: str = "Europe/Brussels") -> None:
        self.by_postcode = areas
        self.timezone = ZoneInfo(timezone)

    def distance_km(self, a: str, b: str) -> float | None:
        """Distance between two postcodes' centroids; None when either is not a known area (out of reach)."""
        if a == b:
            return 0.0
        first, second = self.by_postcode.get(a), self.by_postcode.get(b)
        if first is None or second is None:
            return None
        return haversine_km(first.lat, first.lon, second.lat, second.lon)


class AreasFileError(ValueError):
    """An areas file that cannot be used; says which file and what is wrong."""


def load_areas(tenant: str, directory: Path | None = None) -> Areas:
    """The tenant's areas file; an unknown tenant has none (every distance unknown, so nothing is in reach).

    `directory` is the deployment's tenant directory: its `areas/<tenant>.json` wins over the shipped file."""
    given = directory / "areas" / f"{tenant}.json" if directory is not None else None
    source = given if given is not None and given.is_file() else resources.files("helpt_matching") / "data" / "areas" / f"{tenant}.json"
    if not source.is_file():
        return Areas({})
    try:
        raw = json.loads(source.read_text(encoding="utf-8"))
        return Areas({code: Area(code, a["name"], float(a["lat"]), float(a["lon"]), frozenset(a["neighbours"]))
                      for code, a in raw["areas"].items()}, raw.get("timezone", "Europe/Brussels"))
    except (ValueError, KeyError, TypeError, AttributeError) as bad:  # ZoneInfoNotFoundError is a KeyError
        raise AreasFileError(f"areas file {source}: {type(bad).__name__}: {bad} — see README, 'Municipalities'") from None
