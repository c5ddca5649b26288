"""Discount codes: percent, fixed amount and free shipping, with their limits."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from app.core.audit import record
from app.core.exceptions import ValidationError
from app.core.models import DiscountApplication, DiscountCode
from app.core.money import round_half_up, to_minor
from app.core.uow import UnitOfWork

KINDS = ("percent", "fixed", "free_shipping")


def code_key(code: str) -> str:
    return code.strip().upper()


def create_code(
    uow: UnitOfWork,
    code: str,
    kind: str,
    value: Decimal | str | int = 0,
    *,
    currency: str | None = None,
    min_subtotal: int = 0,
    starts_at: datetime | None = None,
    ends_at: datetime | None = None,
    usage_limit: int | None = None,
    per_customer_limit: int | None = None,
) -> DiscountCode:
    """Create a code; ``value`` is a percent or an amount in major units."""
    if not code.strip():
        raise ValidationError("code", code, "a discount code cannot be empty")
    if kind not in KINDS:
        raise ValidationError("kind", kind, f"discount kind must be one of {KINDS}")
    value = Decimal(str(value))
    if value < 0 or (kind == "percent" and value > 100):
        raise ValidationError(
            "value",
            value,
            "a percent discount is 0 to 100; an amount cannot be negative",
        )
    if kind == "fixed" and not currency:
        raise ValidationError("currency", currency, "a fixed discount needs a currency")
    if starts_at and ends_at and ends_at <= starts_at:
        raise ValidationError("ends_at", ends_at, "the code must end after it starts")
    session = uow.session
    if session.scalar(
        select(DiscountCode.id).where(DiscountCode.code_key == code_key(code))
    ):
        raise ValidationError("code", code, f"discount code {code} already exists")
    row = DiscountCode(
        code=code.strip(),
        code_key=code_key(code),
        kind=kind,
        value=value,
        currency=currency,
        min_subtotal=min_subtotal,
        starts_at=starts_at,
        ends_at=ends_at,
        usage_limit=usage_limit,
        per_customer_limit=per_customer_limit,
        times_used=0,
        active=True,
    )
    session.add(row)
    session.flush()
    record(uow, "discount.create", "discount_code", row.id, detail={"code": code})
    return row


@dataclass(frozen=True, slots=True)
class AppliedDiscount:
    """A discount resolved for one order; ``amount`` in order minor units."""

    code_id: int | None
    code: str
    kind: str
    value: Decimal
    amount: int
    on_shipping: bool
    source: str = "code"


def resolve(
    uow: UnitOfWork,
    codes: list[str],
    *,
    customer_id: int | None,
    placed_at: datetime,
    subtotal: int,
    shipping: int,
    currency: str,
) -> list[AppliedDiscount]:
    """Check each code's window and limits and work out its amount.

    Percent and fixed codes apply to the merchandise subtotal, one after the
    other, never taking it below zero; free shipping takes the shipping
    charge. Usage counters are incremented here, in the order's transaction.
    """
    session = uow.session
    applied: list[AppliedDiscount] = []
    left = subtotal
    for text in codes:
        row = session.scalar(
            uow.locked(
                select(DiscountCode).where(DiscountCode.code_key == code_key(text))
            )
        )
        _check_usable(session, row, text, customer_id, placed_at, subtotal)
        assert row is not None
        if row.kind == "percent":
            amount = min(left, round_half_up(Decimal(subtotal) * row.value / 100))
        elif row.kind == "fixed":
            if row.currency != currency:
                raise ValidationError(
                    "discount code",
                    text,
                    f"discount code {row.code} is in {row.currency} but the order "
                    f"is in {currency}; use a code in the order's currency",
                )
            amount = min(left, to_minor(row.value, currency))
        else:
            amount = shipping
        if row.kind != "free_shipping":
            left -= amount
        row.times_used += 1
        applied.append(
            AppliedDiscount(
                code_id=row.id,
                code=row.code,
                kind=row.kind,
                value=row.value,
                amount=amount,
                on_shipping=row.kind == "free_shipping",
            )
        )
    return applied


def _check_usable(
    session: Session,
    row: DiscountCode | None,
    text: str,
    customer_id: int | None,
    placed_at: datetime,
    subtotal: int,
) -> None:
    if row is None or not row.active:
        raise ValidationError(
            "discount code",
            text,
            f"discount code {text!r} does not exist or is inactive",
        )
    if row.starts_at and placed_at < row.starts_at:
        raise ValidationError(
            "discount code",
            text,
            f"discount code {row.code} is valid from "
            f"{row.starts_at:%Y-%m-%d %H:%M} UTC",
        )
    if row.ends_at and placed_at >= row.ends_at:
        raise ValidationError(
            "discount code",
            text,
            f"discount code {row.code} expired at {row.ends_at:%Y-%m-%d %H:%M} UTC",
        )
    if subtotal < row.min_subtotal:
        raise ValidationError(
            "discount code",
            text,
            f"discount code {row.code} needs a subtotal of at least {row.min_subtotal} "
            "minor units",
        )
    if row.usage_limit is not None and row.times_used >= row.usage_limit:
        raise ValidationError(
            "discount code",
            text,
            f"discount code {row.code} has reached its limit of {row.usage_limit} uses",
        )
    if row.per_customer_limit is not None and customer_id is not None:
        used = session.scalar(
            select(func.count(DiscountApplication.id)).where(
                DiscountApplication.code_id == row.id,
                DiscountApplication.customer_id == customer_id,
            )
        )
        if (used or 0) >= row.per_customer_limit:
            raise ValidationError(
                "discount code",
                text,
                f"this customer has already used {row.code} {used} times (limit "
                f"{row.per_customer_limit})",
            )
