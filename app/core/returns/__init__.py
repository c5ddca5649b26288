"""Returns: authorization, inspection, refund, disposition and fraud signals.

The services take a ``UnitOfWork`` and never commit. Each is one step of the
flow (authorize, receive, inspect, refund, pay, dispose) and leaves the seven
rules holding. A refund requested before the inspection waits for it unless
it is released with a reason. ``record_channel_refund`` brings a refund the
channel made into the same flow, and ``check_refund_limits`` verifies rule 5
on a database.
"""

from app.core.returns.authorization import (
    AuthorizeResult,
    ReturnLineInput,
    authorize,
    cancel_authorization,
    get_rma,
    parse_reference,
    returnable_units,
)
from app.core.returns.channel_refund import ChannelRefundResult, record_channel_refund
from app.core.returns.disposition import (
    DispositionResult,
    dispose,
    quarantine_warehouse,
)
from app.core.returns.exceptions import RefundLimitExceeded, ReturnsError
from app.core.returns.figures import ReturnFigures, return_figures
from app.core.returns.fraud import (
    SignalView,
    recheck_serials,
    review_queue,
    review_signal,
)
from app.core.returns.inspection import Grade, StepResult, inspect, receive
from app.core.returns.limits import check_refund_limits
from app.core.returns.queries import (
    ReturnDetail,
    ReturnSummary,
    expected_receipts,
    list_returns,
    return_detail,
)
from app.core.returns.refund import (
    RefundResult,
    pay_refund,
    preview_refund,
    release_refund,
    request_refund,
)
from app.core.returns.scoring import (
    CustomerActivity,
    CustomerScore,
    analyze,
    customer_activity,
    record_serial_returners,
    score_customers,
)
from app.core.returns.settings import (
    NO_FEE,
    RestockingFee,
    ReturnSettings,
    load_settings,
    save_settings,
    set_window_days,
    update_settings,
)

__all__ = [
    "NO_FEE",
    "AuthorizeResult",
    "ChannelRefundResult",
    "CustomerActivity",
    "CustomerScore",
    "DispositionResult",
    "Grade",
    "RefundLimitExceeded",
    "RefundResult",
    "RestockingFee",
    "ReturnDetail",
    "ReturnFigures",
    "ReturnLineInput",
    "ReturnSettings",
    "ReturnSummary",
    "ReturnsError",
    "SignalView",
    "StepResult",
    "analyze",
    "authorize",
    "cancel_authorization",
    "check_refund_limits",
    "customer_activity",
    "dispose",
    "expected_receipts",
    "get_rma",
    "inspect",
    "list_returns",
    "load_settings",
    "parse_reference",
    "pay_refund",
    "preview_refund",
    "quarantine_warehouse",
    "receive",
    "recheck_serials",
    "record_channel_refund",
    "record_serial_returners",
    "release_refund",
    "request_refund",
    "return_detail",
    "return_figures",
    "returnable_units",
    "review_queue",
    "review_signal",
    "save_settings",
    "score_customers",
    "set_window_days",
    "update_settings",
]
