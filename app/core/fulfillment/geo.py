"""Offline coordinates of addresses and great-circle distances.

A US address with a ZIP code is placed at that ZIP code's coordinates from
the ``zipcodes`` package. A US address with only a state is placed at the
state's ZIP-code centroid, and any other address at its country's
representative point.
The tables in ``resources/geo/`` come from ``scripts/build_geo.py``, whose
header says how each number was derived and how precise it is.
"""

from __future__ import annotations

import csv
import math
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

GEO_DIR = Path(__file__).resolve().parents[3] / "resources" / "geo"
#: Mean Earth radius (IUGG), in kilometres.
EARTH_RADIUS_KM = 6371.0088


@dataclass(frozen=True, slots=True)
class Point:
    """A located address; ``precision`` is "exact", "zip", "state" or "country"."""

    latitude: float
    longitude: float
    precision: str


def _read(name: str) -> dict[str, tuple[float, float]]:
    with (GEO_DIR / name).open(encoding="utf-8", newline="") as handle:
        return {
            row[0]: (float(row[1]), float(row[2]))
            for row in list(csv.reader(handle))[1:]
        }


@lru_cache(maxsize=1)
def country_points() -> dict[str, tuple[float, float]]:
    return _read("country_points.csv")


@lru_cache(maxsize=1)
def state_points() -> dict[str, tuple[float, float]]:
    return _read("us_state_centroids.csv")


@lru_cache(maxsize=1)
def zip_points() -> dict[str, tuple[float, float]]:
    """Return ZIP code -> (latitude, longitude) for every ZIP in ``zipcodes``.

    Built once per process (about 0.4 s), because ``zipcodes.matching``
    scans the whole list on every call.
    """
    import zipcodes

    return {
        row["zip_code"]: (float(row["lat"]), float(row["long"]))
        for row in zipcodes.list_all()  # type: ignore[no-untyped-call]
        if row.get("lat") and row.get("long")
    }


def locate(
    country: str | None, region: str | None = None, postcode: str | None = None
) -> Point | None:
    """Return the best known point for an address, or None when unknown."""
    if not country:
        return None
    code = country.strip().upper()
    if code == "US":
        zip5 = (postcode or "").strip()[:5]
        found = zip_points().get(zip5) if len(zip5) == 5 else None
        if found is not None:
            return Point(found[0], found[1], "zip")
        state = state_points().get((region or "").strip().upper())
        if state is not None:
            return Point(state[0], state[1], "state")
    point = country_points().get(code)
    if point is None:
        return None
    return Point(point[0], point[1], "country")


def distance_km(a: Point, b: Point) -> float:
    """Return the great-circle (haversine) distance between two points in km."""
    lat1, lat2 = math.radians(a.latitude), math.radians(b.latitude)
    dlat = lat2 - lat1
    dlon = math.radians(b.longitude - a.longitude)
    h = (
        math.sin(dlat / 2) ** 2
        + math.cos(lat1) * math.cos(lat2) * math.sin(dlon / 2) ** 2
    )
    return 2 * EARTH_RADIUS_KM * math.asin(min(1.0, math.sqrt(h)))
