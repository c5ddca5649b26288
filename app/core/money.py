"""Exact money arithmetic: integer minor units, Decimal rates, named rounding."""

from __future__ import annotations

from collections.abc import Sequence
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from functools import lru_cache

import pycountry

from app.core.exceptions import ValidationError

#: Unit prices keep at most this many decimals; wholesale lists use three.
PRICE_DECIMALS = 4

# ISO 4217 minor units for currencies whose exponent is not 2.
_EXPONENTS = {
    "BHD": 3, "BIF": 0, "CLP": 0, "DJF": 0, "GNF": 0, "IQD": 3, "ISK": 0,
    "JOD": 3, "JPY": 0, "KMF": 0, "KRW": 0, "KWD": 3, "LYD": 3, "OMR": 3,
    "PYG": 0, "RWF": 0, "TND": 3, "UGX": 0, "UYI": 0, "VND": 0, "VUV": 0,
    "XAF": 0, "XOF": 0, "XPF": 0,
}  # fmt: skip


@lru_cache(maxsize=256)
def currency_exponent(code: str) -> int:
    """Return the number of minor-unit digits of an ISO 4217 currency."""
    if pycountry.currencies.get(alpha_3=code.upper()) is None:
        raise ValidationError(
            "currency", code, f"currency {code!r} is not an ISO 4217 code; use e.g. GBP"
        )
    return _EXPONENTS.get(code.upper(), 2)


def round_half_up(value: Decimal) -> int:
    """Round a Decimal amount of minor units to an int, halves away from zero."""
    return int(value.quantize(Decimal(1), rounding=ROUND_HALF_UP))


def parse_price(text: str | Decimal | int, field: str = "unit price") -> Decimal:
    """Parse a unit price with at most four decimals, exactly."""
    try:
        value = text if isinstance(text, Decimal) else Decimal(str(text).strip())
    except InvalidOperation:
        raise ValidationError(
            field, text, f"{field} {text!r} is not a number; write it like 12.50"
        ) from None
    if not value.is_finite():
        raise ValidationError(field, text, f"{field} {text!r} is not a number")
    exponent = value.as_tuple().exponent
    if isinstance(exponent, int) and exponent < -PRICE_DECIMALS:
        raise ValidationError(
            field,
            text,
            f"{field} {text} has more than {PRICE_DECIMALS} decimals; "
            "round it to at most 4",
        )
    return value


def to_minor(amount: Decimal, currency: str) -> int:
    """Convert a major-unit Decimal amount to minor units, half-up."""
    return round_half_up(amount.scaleb(currency_exponent(currency)))


def line_total(quantity: int, unit_price: Decimal, currency: str) -> int:
    """Return quantity x unit price in minor units, rounded half-up per line."""
    return to_minor(unit_price * quantity, currency)


def from_minor(amount: int, currency: str) -> Decimal:
    """Return minor units as a Decimal in major units (exact)."""
    return Decimal(amount).scaleb(-currency_exponent(currency))


def format_minor(amount: int, currency: str) -> str:
    """Format minor units as a plain decimal string such as ``"1234.50"``."""
    exponent = currency_exponent(currency)
    if exponent == 0:
        return str(amount)
    sign = "-" if amount < 0 else ""
    whole, frac = divmod(abs(amount), 10**exponent)
    return f"{sign}{whole}.{frac:0{exponent}d}"


def convert(amount: int, rate: Decimal, source: str, target: str) -> int:
    """Convert minor units of ``source`` into ``target`` at ``rate`` target/source."""
    shift = currency_exponent(target) - currency_exponent(source)
    return round_half_up((Decimal(amount) * rate).scaleb(shift))


def allocate(total: int, weights: Sequence[int]) -> list[int]:
    """Split ``total`` in proportion to ``weights`` by the largest remainder.

    The parts always sum to ``total``; ties go to the earlier weight. With all
    weights zero the total is spread evenly.
    """
    if not weights:
        return []
    basis = [abs(w) for w in weights]
    denominator = sum(basis)
    if denominator == 0:
        basis = [1] * len(weights)
        denominator = len(weights)
    sign = -1 if total < 0 else 1
    magnitude = abs(total)
    shares = [magnitude * w // denominator for w in basis]
    remainders = [magnitude * w % denominator for w in basis]
    left = magnitude - sum(shares)
    order = sorted(range(len(basis)), key=lambda i: (-remainders[i], i))
    for i in order[:left]:
        shares[i] += 1
    return [sign * s for s in shares]


def cumulative_share(total: int, units: int, of_units: int) -> int:
    """Return the part of ``total`` that ``units`` of ``of_units`` carry, half-up.

    Shares taken on cumulative units (first 1 unit, then 2, ...) and
    differenced never go negative and always add up to ``total``.
    """
    if of_units <= 0 or units >= of_units:
        return total
    return round_half_up(Decimal(total) * units / of_units)
