"""The closed sets of the returns domain and the RMA's allowed transitions."""

from __future__ import annotations

from app.core.exceptions import InvalidTransition
from app.core.models.returns import ReturnAuthorization

REASONS = (
    "damaged",
    "defective",
    "wrong_item",
    "not_as_described",
    "no_longer_needed",
    "other",
)
#: Reasons that are the shop's fault: no restocking fee, shipping refunded
#: under the ``seller_fault`` policy.
SELLER_FAULT_REASONS = frozenset({"defective", "wrong_item"})

CONDITIONS = ("new", "opened", "damaged", "unusable", "wrong_item", "empty")
#: Conditions in which the unit that came back is the item sold: it goes into
#: quarantine and is refunded. ``wrong_item`` and ``empty`` units are neither.
ACCEPTED_CONDITIONS = frozenset({"new", "opened", "damaged", "unusable"})

DISPOSITIONS = ("restock", "dispose", "return_to_supplier")

RMA_STATUSES = ("authorized", "received", "inspected", "closed", "cancelled")
RMA_TRANSITIONS: dict[str, frozenset[str]] = {
    "authorized": frozenset({"received", "cancelled"}),
    "received": frozenset({"inspected"}),
    "inspected": frozenset({"closed"}),
    "closed": frozenset(),
    "cancelled": frozenset(),
}
#: RMA statuses before the goods have been inspected.
BEFORE_INSPECTION = frozenset({"authorized", "received"})

REFUND_STATUSES = ("waiting", "issued", "paid", "matched", "declined")
#: Refund statuses that have been posted to the ledger.
POSTED_REFUNDS = ("issued", "paid")
PAYOUT_ACCOUNTS = {"channel": "1100", "bank": "1000"}

SIGNAL_KINDS = (
    "quantity_overstated",
    "empty_box",
    "weight_mismatch",
    "substitution",
    "serial_returner",
    "late_return",
    "refund_before_inspection",
    "high_value_quick_return",
)
SIGNAL_STATUSES = ("open", "dismissed", "confirmed")


def move_to(rma: ReturnAuthorization, status: str) -> None:
    """Change an RMA's status, raising InvalidTransition for a disallowed step."""
    if status not in RMA_TRANSITIONS[rma.status]:
        raise InvalidTransition(
            f"return {rma.reference} is {rma.status} and cannot become {status}"
        )
    rma.status = status
