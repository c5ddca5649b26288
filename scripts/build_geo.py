"""Build the offline coordinate tables in ``resources/geo/`` from installed data.

Routing measures the distance from each warehouse to the destination without
the network, so the coordinates ship with the app. Both tables are computed
here from Python packages that Backroom already depends on; nothing is
downloaded.

``country_points.csv``
    One point per ISO 3166-1 country: the mean latitude and longitude of the
    reference locations that the IANA time zone database lists for the
    country in ``zone.tab`` (read from the ``tzdata`` package). Those
    locations are the principal city of each time zone, so for a
    one-zone country the point is its capital or largest city, not the
    geographic centroid. For the United States the mean of all ZIP code
    coordinates in the ``zipcodes`` package (territories and military codes
    included) is used instead, because the mean of its 29 zone cities lies
    far west. Expect errors of a few hundred
    kilometres for large countries; the routing score only needs to tell
    near from far.

``us_state_centroids.csv``
    One point per US state, territory and military "state" code: the mean
    coordinates of that state's ZIP codes in the ``zipcodes`` package (a
    centroid of ZIP codes, which leans towards densely coded areas).

Run: ``.venv/bin/python scripts/build_geo.py`` (rewrites both files).
"""

from __future__ import annotations

import csv
import re
import sys
from collections import defaultdict
from importlib import resources
from pathlib import Path

import zipcodes

ROOT = Path(__file__).resolve().parents[1]
GEO_DIR = ROOT / "resources" / "geo"

# ``+DDMM+DDDMM`` or ``+DDMMSS+DDDMMSS``, as zone.tab writes ISO 6709 points.
_POINT = re.compile(r"([+-])(\d{2})(\d{2})(\d{2})?([+-])(\d{3})(\d{2})(\d{2})?")


def _degrees(sign: str, deg: str, minutes: str, seconds: str | None) -> float:
    value = int(deg) + int(minutes) / 60 + int(seconds or 0) / 3600
    return -value if sign == "-" else value


def parse_iso6709(text: str) -> tuple[float, float]:
    """Return (latitude, longitude) in degrees of a zone.tab coordinate."""
    match = _POINT.fullmatch(text)
    if match is None:
        raise ValueError(f"zone.tab coordinate {text!r} is not ISO 6709")
    lat_sign, lat_d, lat_m, lat_s, lon_sign, lon_d, lon_m, lon_s = match.groups()
    return (
        _degrees(lat_sign, lat_d, lat_m, lat_s),
        _degrees(lon_sign, lon_d, lon_m, lon_s),
    )


def zone_points() -> dict[str, list[tuple[float, float]]]:
    """Return country code -> the zone.tab reference points of that country."""
    text = resources.files("tzdata").joinpath("zoneinfo", "zone.tab").read_text()
    points: dict[str, list[tuple[float, float]]] = defaultdict(list)
    for row in text.splitlines():
        if not row or row.startswith("#"):
            continue
        country, coordinates = row.split("\t")[:2]
        points[country].append(parse_iso6709(coordinates))
    return points


def zip_points() -> dict[str, list[tuple[float, float]]]:
    """Return US state code -> coordinates of every ZIP code in that state."""
    points: dict[str, list[tuple[float, float]]] = defaultdict(list)
    for row in zipcodes.list_all():
        if row.get("lat") and row.get("long"):
            points[row["state"]].append((float(row["lat"]), float(row["long"])))
    return points


def mean(points: list[tuple[float, float]]) -> tuple[float, float]:
    """Return the plain mean of the points.

    Longitudes are averaged as plain numbers, which is wrong across the
    180th meridian. Kiribati's three zone points lie on both sides of it, so
    its point falls in open ocean.
    """
    return (
        sum(p[0] for p in points) / len(points),
        sum(p[1] for p in points) / len(points),
    )


def write(path: Path, header: list[str], rows: list[list[object]]) -> None:
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle, lineterminator="\n")
        writer.writerow(header)
        writer.writerows(rows)


def main() -> int:
    GEO_DIR.mkdir(parents=True, exist_ok=True)
    states = zip_points()
    countries = zone_points()
    countries["US"] = [p for rows in states.values() for p in rows]

    country_rows: list[list[object]] = []
    for code in sorted(countries):
        lat, lon = mean(countries[code])
        source = "zipcodes" if code == "US" else "tzdata"
        n = len(countries[code])
        country_rows.append([code, f"{lat:.4f}", f"{lon:.4f}", source, n])
    write(
        GEO_DIR / "country_points.csv",
        ["country", "latitude", "longitude", "source", "points"],
        country_rows,
    )

    state_rows: list[list[object]] = []
    for code in sorted(states):
        lat, lon = mean(states[code])
        state_rows.append([code, f"{lat:.4f}", f"{lon:.4f}", len(states[code])])
    write(
        GEO_DIR / "us_state_centroids.csv",
        ["state", "latitude", "longitude", "zip_codes"],
        state_rows,
    )
    sys.stdout.write(
        f"wrote {len(country_rows)} countries and {len(state_rows)} US states "
        f"to {GEO_DIR}\n"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
