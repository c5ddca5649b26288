"""Destination tax: which jurisdiction taxes a sale, and the tax on each line.

Rates follow WooCommerce's tax-rate table semantics (see ``TaxRate``). The
caller first asks ``jurisdiction_for`` whose rules apply, then hands the rates
of that country to ``compute_tax``.

Rounding contract. Every input and output amount is an int of minor units;
Decimal is used only for the arithmetic in between. Halves round away from
zero (``ROUND_HALF_UP``), so 166.5 becomes 167 and -166.5 becomes -167.

* ``rounding="line"``: each line is rounded on its own. With exclusive prices
  each component is ``round(taxable * rate / 100)``, where a compound
  component's taxable amount is the net plus the rounded components of lower
  priority. With inclusive prices the line's tax is ``round(gross * K / (1 +
  K))``, where K is the line's combined rate multiplier (``R / 100`` for
  non-compound sets), and net is gross minus tax. Every component but the
  last is rounded on its own and the last takes the remainder, so the
  components sum exactly to the line's tax.
* ``rounding="order"``: the unrounded tax of every line and component is
  summed per ``(name, rate)``, each sum is rounded once, and that total is
  allocated back to the lines by the largest-remainder method (ties go to the
  earlier line), so the lines' taxes sum exactly to the order totals.

Shipping lines are taxed only by rates whose ``shipping`` flag is set; exempt
lines carry no tax; a line that no rate matches carries no tax.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from decimal import ROUND_FLOOR, Decimal, localcontext
from functools import cache
from typing import Literal

import pycountry

from app.core.exceptions import BackroomError
from app.core.money import round_half_up

logger = logging.getLogger(__name__)

Rounding = Literal["line", "order"]
RegistrationKind = Literal["home", "oss", "us_state", "country"]

#: EU-27 member states (ISO 3166-1 alpha-2), the area of the One-Stop Shop.
EU_MEMBER_STATES = frozenset(
    {
        "AT", "BE", "BG", "CY", "CZ", "DE", "DK", "EE", "ES", "FI", "FR", "GR",
        "HR", "HU", "IE", "IT", "LT", "LU", "LV", "MT", "NL", "PL", "PT", "RO",
        "SE", "SI", "SK",
    }
)  # fmt: skip

# Adjectives for the reason sentences of the countries in the default tables.
_VAT_ADJECTIVES = {
    "AT": "Austrian", "BE": "Belgian", "BG": "Bulgarian", "CY": "Cypriot",
    "CZ": "Czech", "DE": "German", "DK": "Danish", "EE": "Estonian",
    "ES": "Spanish", "FI": "Finnish", "FR": "French", "GB": "UK", "GR": "Greek",
    "HR": "Croatian", "HU": "Hungarian", "IE": "Irish", "IT": "Italian",
    "LT": "Lithuanian", "LU": "Luxembourg", "LV": "Latvian", "MT": "Maltese",
    "NL": "Dutch", "PL": "Polish", "PT": "Portuguese", "RO": "Romanian",
    "SE": "Swedish", "SI": "Slovenian", "SK": "Slovak",
}  # fmt: skip

# USPS codes for Armed Forces mail, which WooCommerce offers as US states but
# ISO 3166-2 does not list.
_US_MILITARY_CODES = {
    "AA": "Armed Forces Americas",
    "AE": "Armed Forces Europe",
    "AP": "Armed Forces Pacific",
}

_WILDCARDS = ("", "*")


class TaxError(BackroomError):
    """Root of the tax engine's errors; names the field and value at fault."""

    def __init__(self, field: str, value: object, message: str) -> None:
        self.field = field
        self.value = value
        super().__init__(message)


class UnknownDestination(TaxError):
    """A destination's country or region cannot be placed in a tax jurisdiction."""


class InvalidRegistration(TaxError):
    """The shop's country or one of its tax registrations is invalid."""


@dataclass(frozen=True, slots=True)
class TaxRate:
    """One row of a tax-rate table, with WooCommerce's matching rules.

    ``country`` is an ISO 3166-1 alpha-2 code, or ``"*"``/``""`` for any
    country. ``region`` is a state or province code; None, ``""`` or ``"*"``
    means any region. ``postcode`` and ``city`` are ``;``-separated lists of
    patterns where ``*`` matches any run of characters and ``A...B`` is an
    inclusive numeric range of postcodes; None means any. ``rate`` is a
    percentage (``Decimal("20")`` for 20 %). ``tax_class`` is the WooCommerce
    tax-class slug; ``""`` is the standard class.
    """

    country: str
    region: str | None
    postcode: str | None
    city: str | None
    rate: Decimal
    name: str
    priority: int = 1
    compound: bool = False
    shipping: bool = True
    source: str = ""
    tax_class: str = ""


@dataclass(frozen=True, slots=True)
class Destination:
    """Ship-to address parts that tax rules look at."""

    country: str
    region: str | None = None
    postcode: str | None = None
    city: str | None = None


@dataclass(frozen=True, slots=True)
class Registration:
    """A tax registration of the shop.

    ``home``: the shop's own country (``region`` is its state for a US shop).
    ``oss``: EU One-Stop Shop, ``country`` being the member state of
    identification. ``us_state``: sales tax nexus in the US state ``region``.
    ``country``: a VAT or GST registration in ``country``.
    """

    kind: RegistrationKind
    country: str
    region: str | None = None


@dataclass(frozen=True, slots=True)
class Jurisdiction:
    """Whose tax rules apply to a sale, and why, as a short sentence."""

    country: str
    region: str | None
    reason: str

    def rated_destination(self, dest: Destination) -> Destination:
        """Return the address to match against this jurisdiction's rate table.

        That is the destination itself when tax is due in its country. A sale
        taxed at home rules (an EU distance sale without One-Stop Shop) uses
        the home country and region with no postcode, so that the home
        table's postcode exceptions never match a foreign postcode.
        """
        if self.country == _normal_country(dest.country):
            return dest
        return Destination(self.country, self.region)


@dataclass(frozen=True, slots=True)
class TaxLineInput:
    """One taxable amount of an order: an item line, a fee or shipping.

    ``amount`` is in minor units after the line's share of order discounts;
    it is gross when prices include tax and net otherwise. ``tax_class`` is
    the WooCommerce tax-class slug of the item (``""`` for standard).
    """

    key: str
    amount: int
    is_shipping: bool = False
    exempt: bool = False
    tax_class: str = ""


@dataclass(frozen=True, slots=True)
class TaxComponent:
    """Tax of one rate on one line; ``taxable`` and ``amount`` in minor units."""

    name: str
    rate: Decimal
    priority: int
    compound: bool
    taxable: int
    amount: int


@dataclass(frozen=True, slots=True)
class TaxLine:
    """Tax result of one input line, in minor units."""

    key: str
    net: int
    tax: int
    components: tuple[TaxComponent, ...]

    @property
    def gross(self) -> int:
        return self.net + self.tax


@dataclass(frozen=True, slots=True)
class TaxTotal:
    """Order total of one tax, keyed by ``(name, rate)``, in minor units."""

    name: str
    rate: Decimal
    taxable: int
    amount: int


@dataclass(frozen=True, slots=True)
class TaxResult:
    """Tax of an order: one ``TaxLine`` per input line, in input order.

    The rounding settings are kept so that a re-computation gives the same
    figures.
    """

    lines: tuple[TaxLine, ...]
    totals: tuple[TaxTotal, ...]
    prices_include_tax: bool
    rounding: Rounding
    currency_exponent: int

    @property
    def net(self) -> int:
        return sum(line.net for line in self.lines)

    @property
    def tax(self) -> int:
        return sum(line.tax for line in self.lines)

    def line(self, key: str) -> TaxLine:
        """Return the first line with ``key``; raise KeyError when there is none."""
        for line in self.lines:
            if line.key == key:
                return line
        raise KeyError(key)


# Codes and names ------------------------------------------------------------


def _normal_country(code: str) -> str:
    return code.strip().upper()


def _normal_region(country: str, region: str | None) -> str | None:
    """Upper-case a region code and drop an ISO 3166-2 prefix (``US-NY``)."""
    if region is None:
        return None
    code = region.strip().upper()
    if code.startswith(country + "-"):
        code = code[len(country) + 1 :]
    if code in _WILDCARDS:
        return None
    return code


def normalize_postcode(postcode: str) -> str:
    """Upper-case a postcode and drop spaces and hyphens, as WooCommerce does."""
    return re.sub(r"[\s\-]", "", postcode).upper()


def _country_name(code: str) -> str:
    country = pycountry.countries.get(alpha_2=code)
    return code if country is None else str(country.name)


def _is_country(code: str) -> bool:
    return len(code) == 2 and pycountry.countries.get(alpha_2=code) is not None


@cache
def _us_states() -> dict[str, str]:
    """Map US state and territory codes (ISO 3166-2 without ``US-``) to names."""
    states = {
        str(subdivision.code).removeprefix("US-"): str(subdivision.name)
        for subdivision in pycountry.subdivisions
        if subdivision.country_code == "US"
    }
    states.update(_US_MILITARY_CODES)
    return states


def _us_state_name(code: str) -> str | None:
    return _us_states().get(code)


def _vat_label(country: str) -> str:
    adjective = _VAT_ADJECTIVES.get(country)
    if adjective is not None:
        return f"{adjective} VAT"
    return f"the tax of {_country_name(country)}"


def _checked_destination(dest: Destination) -> tuple[str, str | None]:
    """Return the destination's normalized country and region, or raise."""
    country = _normal_country(dest.country)
    if not _is_country(country):
        raise UnknownDestination(
            "country",
            dest.country,
            f"destination country {dest.country!r} is not an ISO 3166-1 alpha-2 "
            "code; correct the order's shipping country (for example GB, DE, US)",
        )
    return country, _normal_region(country, dest.region)


# Jurisdiction ---------------------------------------------------------------


def _checked_registrations(
    shop_country: str, registrations: Sequence[Registration]
) -> str:
    """Validate the shop's country and registrations; return the home country."""
    home = _normal_country(shop_country)
    if not _is_country(home):
        raise InvalidRegistration(
            "shop_country",
            shop_country,
            f"shop country {shop_country!r} is not an ISO 3166-1 alpha-2 code; "
            "correct the shop's country in Settings",
        )
    for registration in registrations:
        country = _normal_country(registration.country)
        if registration.kind not in ("home", "oss", "us_state", "country"):
            raise InvalidRegistration(
                "registration.kind",
                registration.kind,
                f"tax registration kind {registration.kind!r} is not one of home, "
                "oss, us_state, country; correct the shop's tax registrations",
            )
        if not _is_country(country):
            raise InvalidRegistration(
                "registration.country",
                registration.country,
                f"tax registration country {registration.country!r} is not an "
                "ISO 3166-1 alpha-2 code; correct the shop's tax registrations",
            )
        us_home_state = registration.kind == "home" and registration.region
        if registration.kind == "us_state" or (country == "US" and us_home_state):
            state = _normal_region("US", registration.region)
            if country != "US" or state is None or _us_state_name(state) is None:
                raise InvalidRegistration(
                    "registration.region",
                    registration.region,
                    f"US sales tax registration region {registration.region!r} is "
                    "not a US state code; enter the state's two-letter code "
                    "(for example NY)",
                )
    return home


def _us_nexus_states(home: str, registrations: Sequence[Registration]) -> set[str]:
    """Return the US states where the shop collects sales tax."""
    states: set[str] = set()
    for registration in registrations:
        country = _normal_country(registration.country)
        region = _normal_region("US", registration.region)
        if region is None or country != "US":
            continue
        if registration.kind == "us_state" or (
            registration.kind == "home" and home == "US"
        ):
            states.add(region)
    return states


def explain_jurisdiction(
    shop_country: str, registrations: Sequence[Registration], dest: Destination
) -> tuple[Jurisdiction | None, str]:
    """Decide whose tax rules apply to a sale; return it with the reason.

    The first rule that fits decides, in this order:

    1. A US destination, when the shop has sales tax nexus in any state (a
       ``us_state`` registration, or a ``home`` registration in the US with a
       state): that state's rules if it has nexus there, else no tax.
    2. A destination in the shop's home country: home rules.
    3. A ``country`` registration for the destination country: its rules.
    4. An EU destination: the destination's VAT with an ``oss`` registration.
       Without one, an EU shop charges its home VAT and a shop outside the EU
       exports. Home VAT is allowed only below the EU-wide EUR 10,000
       distance-selling threshold, which this function cannot see.
    5. Anything else is an export or out of scope: no tax (None).
    """
    country, region = _checked_destination(dest)
    home = _checked_registrations(shop_country, registrations)

    nexus = _us_nexus_states(home, registrations) if country == "US" else set()
    if nexus:
        state_name = None if region is None else _us_state_name(region)
        if region is None:
            raise UnknownDestination(
                "region",
                dest.region,
                "destination region is missing for a US address; add the "
                "order's shipping state",
            )
        if state_name is None:
            raise UnknownDestination(
                "region",
                dest.region,
                f"destination region {dest.region!r} is not a US state code; "
                "correct the order's shipping state",
            )
        if region in nexus:
            reason = f"sales tax nexus in {state_name}: {state_name} sales tax"
            return Jurisdiction("US", region, reason), reason
        return None, f"no sales tax nexus in {state_name}: no tax"

    if country == home:
        reason = f"sale within the home country: {_vat_label(country)} applies"
        if country == "US":
            reason = "sale within the home country: US sales tax of the destination"
        return Jurisdiction(country, region, reason), reason

    for registration in registrations:
        if (
            registration.kind == "country"
            and _normal_country(registration.country) == country
        ):
            name = _country_name(country)
            reason = f"tax registration in {name}: {_vat_label(country)} applies"
            return Jurisdiction(country, region, reason), reason

    if country in EU_MEMBER_STATES:
        if any(registration.kind == "oss" for registration in registrations):
            reason = (
                f"EU One-Stop Shop registration: {_vat_label(country)} "
                "at the destination"
            )
            return Jurisdiction(country, region, reason), reason
        if home in EU_MEMBER_STATES:
            reason = (
                f"EU distance sale without One-Stop Shop registration: "
                f"{_vat_label(home)} of the shop's home country (allowed only "
                "below the EUR 10,000 distance-selling threshold)"
            )
            home_region = _home_region(home, registrations)
            return Jurisdiction(home, home_region, reason), reason

    return None, "export outside registrations: no tax"


def _home_region(home: str, registrations: Sequence[Registration]) -> str | None:
    for registration in registrations:
        if (
            registration.kind == "home"
            and _normal_country(registration.country) == home
        ):
            return _normal_region(home, registration.region)
    return None


def jurisdiction_for(
    shop_country: str, registrations: Sequence[Registration], dest: Destination
) -> Jurisdiction | None:
    """Decide whose tax rules apply to a sale; None means no tax is charged.

    See ``explain_jurisdiction`` for the rules and for the reason behind a
    None. Raises ``UnknownDestination`` for a country that is not ISO 3166-1
    alpha-2. It raises the same for a US destination without a valid state
    when the shop has state registrations. Raises ``InvalidRegistration`` for
    an invalid shop country or registration.
    """
    jurisdiction, reason = explain_jurisdiction(shop_country, registrations, dest)
    if jurisdiction is None:
        logger.debug("no tax for destination %s: %s", dest, reason)
    return jurisdiction


# Rate matching --------------------------------------------------------------


def _patterns(text: str | None) -> list[str]:
    """Split a ``;``-separated pattern list, dropping blanks and bare ``*``."""
    if text is None:
        return []
    parts = (part.strip() for part in text.split(";"))
    return [part for part in parts if part and part != "*"]


def _wildcard_match(pattern: str, value: str) -> bool:
    regex = ".*".join(re.escape(piece) for piece in pattern.split("*"))
    return re.fullmatch(regex, value) is not None


def _postcode_level(patterns: list[str], postcode: str) -> int | None:
    """Return 2 for an exact match, 1 for a wildcard or range match, else None."""
    best: int | None = None
    for raw in patterns:
        pattern = normalize_postcode(raw)
        if "..." in pattern:
            low, _, high = pattern.partition("...")
            if _in_numeric_range(low, high, postcode):
                best = 1 if best is None else best
        elif "*" in pattern:
            if _wildcard_match(pattern, postcode):
                best = 1 if best is None else best
        elif pattern == postcode:
            return 2
    return best


def _rated_postcode(country: str, postcode: str) -> str:
    """Normalize a destination postcode; a US ZIP+4 is matched by its 5-digit ZIP."""
    code = normalize_postcode(postcode)
    if country == "US" and len(code) == 9 and code.isdigit():
        return code[:5]
    return code


def _in_numeric_range(low: str, high: str, postcode: str) -> bool:
    """Compare digits-only postcodes numerically.

    When both bounds have the same number of digits the postcode must have
    that many too, so ``35000...35999`` does not match ``350001``.
    """
    if not (low.isdigit() and high.isdigit() and postcode.isdigit()):
        return False
    if len(low) == len(high) and len(postcode) != len(low):
        return False
    return int(low) <= int(postcode) <= int(high)


def _match_score(
    rate: TaxRate, country: str, region: str | None, dest: Destination
) -> tuple[int, int, int, int] | None:
    """Rank a rate for a destination: higher is more specific, None is no match.

    The tuple is (postcode, city, region, country), so a postcode match beats
    a city match, which beats a region match, which beats a country-only
    match, which beats a wildcard country.
    """
    rate_country = _normal_country(rate.country)
    if rate_country in _WILDCARDS:
        country_level = 0
    elif rate_country == country:
        country_level = 1
    else:
        return None

    rate_region = _normal_region(rate_country, rate.region)
    if rate_region is None:
        region_level = 0
    elif rate_region == region:
        region_level = 1
    else:
        return None

    postcode_level = 0
    postcodes = _patterns(rate.postcode)
    if postcodes:
        if not dest.postcode:
            return None
        level = _postcode_level(postcodes, _rated_postcode(country, dest.postcode))
        if level is None:
            return None
        postcode_level = level

    city_level = 0
    cities = _patterns(rate.city)
    if cities:
        city = (dest.city or "").strip().upper()
        if not city:
            return None
        if not any(_wildcard_match(p.strip().upper(), city) for p in cities):
            return None
        city_level = 1

    return postcode_level, city_level, region_level, country_level


def _tax_class(slug: str) -> str:
    normal = slug.strip().lower()
    return "" if normal == "standard" else normal


def matching_rates(
    rates: Iterable[TaxRate], dest: Destination, tax_class: str = ""
) -> list[TaxRate]:
    """Pick the rates that apply to a destination: one per priority.

    Within a priority the most specific match wins (see ``_match_score``);
    between equally specific rates the earlier one in ``rates`` wins, like
    WooCommerce's rate order. The result is sorted by priority.
    """
    country, region = _checked_destination(dest)
    line_class = _tax_class(tax_class)
    best: dict[int, tuple[tuple[int, int, int, int], TaxRate]] = {}
    for rate in rates:
        if _tax_class(rate.tax_class) != line_class:
            continue
        score = _match_score(rate, country, region, dest)
        if score is None:
            continue
        current = best.get(rate.priority)
        if current is None or score > current[0]:
            best[rate.priority] = (score, rate)
    return [best[priority][1] for priority in sorted(best)]


def _check_regions_given(dest: Destination, rates: Sequence[TaxRate]) -> None:
    """Raise when the destination's country is rated per region but has none."""
    country, region = _checked_destination(dest)
    if region is not None:
        return
    own = [rate for rate in rates if _normal_country(rate.country) == country]
    if own and all(_normal_region(country, rate.region) for rate in own):
        raise UnknownDestination(
            "region",
            dest.region,
            f"destination region is missing, but the tax rates for {country} are "
            "defined per region; add the state or province to the order's "
            "shipping address",
        )


# Computation ----------------------------------------------------------------


def _factors(chosen: Sequence[TaxRate]) -> list[Decimal]:
    """Return each rate's tax per unit of net, compounding in priority order."""
    factors: list[Decimal] = []
    for rate in chosen:
        base = Decimal(1) + sum(factors, Decimal(0)) if rate.compound else Decimal(1)
        factors.append(base * rate.rate / Decimal(100))
    return factors


def _exact_components(
    amount: int, chosen: Sequence[TaxRate], inclusive: bool
) -> list[Decimal]:
    factors = _factors(chosen)
    if not inclusive:
        return [amount * factor for factor in factors]
    divisor = Decimal(1) + sum(factors, Decimal(0))
    return [amount * factor / divisor for factor in factors]


def _components(
    chosen: Sequence[TaxRate], amounts: Sequence[int], net: int
) -> tuple[TaxComponent, ...]:
    components: list[TaxComponent] = []
    earlier = 0
    for rate, amount in zip(chosen, amounts, strict=True):
        taxable = net + earlier if rate.compound else net
        components.append(
            TaxComponent(
                rate.name, rate.rate, rate.priority, rate.compound, taxable, amount
            )
        )
        earlier += amount
    return tuple(components)


def _line_rounded(
    line: TaxLineInput, chosen: Sequence[TaxRate], inclusive: bool
) -> TaxLine:
    if not chosen:
        return TaxLine(line.key, line.amount, 0, ())

    if not inclusive:
        amounts: list[int] = []
        for rate in chosen:
            base = line.amount + sum(amounts) if rate.compound else line.amount
            amounts.append(round_half_up(base * rate.rate / Decimal(100)))
        net = line.amount
    else:
        exact = _exact_components(line.amount, chosen, inclusive=True)
        tax = round_half_up(sum(exact, Decimal(0)))
        amounts = [round_half_up(value) for value in exact[:-1]]
        amounts.append(tax - sum(amounts))
        net = line.amount - tax

    return TaxLine(line.key, net, sum(amounts), _components(chosen, amounts, net))


def _largest_remainder(values: Sequence[Decimal]) -> list[int]:
    """Round each value so that the parts sum to the rounded sum of all values."""
    total = round_half_up(sum(values, Decimal(0)))
    floors = [int(value.to_integral_value(rounding=ROUND_FLOOR)) for value in values]
    remainders = [value - floor for value, floor in zip(values, floors, strict=True)]
    order = sorted(range(len(values)), key=lambda i: (-remainders[i], i))
    for i in order[: total - sum(floors)]:
        floors[i] += 1
    return floors


def _order_rounded(
    lines: Sequence[TaxLineInput],
    plans: Sequence[Sequence[TaxRate]],
    inclusive: bool,
) -> list[TaxLine]:
    exact = [
        _exact_components(line.amount, chosen, inclusive)
        for line, chosen in zip(lines, plans, strict=True)
    ]

    # Collect every (line, component) position of each (name, rate) group.
    groups: dict[tuple[str, Decimal], list[tuple[int, int]]] = {}
    for line_index, chosen in enumerate(plans):
        for component_index, rate in enumerate(chosen):
            key = (rate.name, rate.rate)
            groups.setdefault(key, []).append((line_index, component_index))

    allocated = [[0] * len(chosen) for chosen in plans]
    for positions in groups.values():
        values = [exact[li][ci] for li, ci in positions]
        for (li, ci), amount in zip(positions, _largest_remainder(values), strict=True):
            allocated[li][ci] = amount

    result: list[TaxLine] = []
    for line, chosen, amounts in zip(lines, plans, allocated, strict=True):
        tax = sum(amounts)
        net = line.amount - tax if inclusive else line.amount
        result.append(TaxLine(line.key, net, tax, _components(chosen, amounts, net)))
    return result


def _totals(lines: Iterable[TaxLine]) -> tuple[TaxTotal, ...]:
    sums: dict[tuple[str, Decimal], tuple[int, int]] = {}
    for line in lines:
        for component in line.components:
            key = (component.name, component.rate)
            taxable, amount = sums.get(key, (0, 0))
            sums[key] = (taxable + component.taxable, amount + component.amount)
    return tuple(
        TaxTotal(name, rate, taxable, amount)
        for (name, rate), (taxable, amount) in sums.items()
    )


def _check_options(rounding: str, currency_exponent: int) -> None:
    if rounding not in ("line", "order"):
        raise TaxError(
            "rounding",
            rounding,
            f"tax rounding {rounding!r} is not 'line' or 'order'; choose one",
        )
    if not 0 <= currency_exponent <= 4:
        raise TaxError(
            "currency_exponent",
            currency_exponent,
            f"currency exponent {currency_exponent} is outside ISO 4217's 0 to 4; "
            "pass the currency's number of minor-unit digits",
        )


def _check_rate(rate: TaxRate) -> None:
    if not rate.rate.is_finite() or rate.rate < 0:
        raise TaxError(
            "rate",
            rate.rate,
            f"tax rate {rate.name!r} of {rate.rate} % is not a percentage of 0 or "
            "more; correct the tax-rate table",
        )


def compute_tax(
    lines: Sequence[TaxLineInput],
    rates: Sequence[TaxRate],
    dest: Destination,
    *,
    prices_include_tax: bool,
    rounding: Rounding = "line",
    currency_exponent: int = 2,
) -> TaxResult:
    """Compute the tax of each line for one destination.

    ``rates`` are the candidate rates of the jurisdiction's country, and this
    function picks the ones that match the destination (see
    ``matching_rates``). ``currency_exponent`` is only recorded in the result
    because amounts are already minor units. The module docstring gives the
    rounding contract.

    Raises ``UnknownDestination`` for an invalid country, or when the
    country's rates are all per region and the destination has none.
    """
    _check_options(rounding, currency_exponent)
    _check_regions_given(dest, rates)

    plans: list[list[TaxRate]] = []
    for line in lines:
        if line.exempt:
            plans.append([])
            continue
        chosen = matching_rates(rates, dest, line.tax_class)
        if line.is_shipping:
            chosen = [rate for rate in chosen if rate.shipping]
        for rate in chosen:
            _check_rate(rate)
        plans.append(chosen)

    with localcontext() as context:
        context.prec = 50
        if rounding == "line":
            taxed = [
                _line_rounded(line, chosen, prices_include_tax)
                for line, chosen in zip(lines, plans, strict=True)
            ]
        else:
            taxed = _order_rounded(lines, plans, prices_include_tax)

    return TaxResult(
        lines=tuple(taxed),
        totals=_totals(taxed),
        prices_include_tax=prices_include_tax,
        rounding=rounding,
        currency_exponent=currency_exponent,
    )
