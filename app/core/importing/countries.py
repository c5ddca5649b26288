"""Map country names as shops write them to ISO 3166-1 alpha-2 codes."""

from __future__ import annotations

from functools import lru_cache

import pycountry

# Names that pycountry does not match, or matches only by official name
# ("Czech Republic"). The first seven occur in the UCI Online Retail data set.
# None marks a name that is no single country, so the caller counts it as an
# unknown country.
_NON_ISO_NAMES: dict[str, str | None] = {
    "eire": "IE",
    "rsa": "ZA",
    "usa": "US",
    "czech republic": "CZ",
    "channel islands": None,
    "european community": None,
    "unspecified": None,
    "uk": "GB",
    "great britain": "GB",
    "england": "GB",
    "scotland": "GB",
    "wales": "GB",
    "northern ireland": "GB",
    "holland": "NL",
    "south korea": "KR",
    "russia": "RU",
}


@lru_cache(maxsize=1024)
def country_code(name: str) -> str | None:
    """Return the ISO alpha-2 code for a country name, or None when unknown.

    The explicit table of non-ISO names wins, then pycountry's name, official
    name and common name, compared case-insensitively after collapsing
    spaces. Alpha-2 and alpha-3 codes ("GB", "GBR") are not looked up.
    """
    key = " ".join(name.split()).casefold()
    if not key:
        return None
    if key in _NON_ISO_NAMES:
        return _NON_ISO_NAMES[key]
    countries = pycountry.countries
    country = (
        countries.get(name=key)
        or countries.get(official_name=key)
        or countries.get(common_name=key)
    )
    return None if country is None else str(country.alpha_2)
