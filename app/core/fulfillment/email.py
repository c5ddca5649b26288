"""The shipping confirmation e-mail, queued in the shipment's transaction.

Channels such as Shopify and WooCommerce e-mail their own customers when
they receive the tracking number. Manual and wholesale orders have no such
channel, so ``Channel.notify_customer`` is on for them and Backroom writes
the message itself. The outbox row (kind ``email``) is drained by the
mailer in ``app.sync.mailer`` through the shop's SMTP server.
"""

from __future__ import annotations

from sqlalchemy.orm import Session

from app.core.models import Channel, SalesOrder
from app.core.outbox import queue_message
from app.core.shop import get_shop

EMAIL_KIND = "email"


def tracking_email(
    shop_name: str,
    order: SalesOrder,
    carrier: str,
    service: str,
    tracking_number: str,
    tracking_url: str = "",
) -> tuple[str, str]:
    """Return the subject and plain-text body of the shipping confirmation."""
    subject = f"Your order {order.external_id} from {shop_name} has shipped"
    by = " ".join(part for part in (carrier, service) if part) or "our carrier"
    lines = [
        f"Hello {order.ship_name or 'there'},",
        "",
        f"Your order {order.external_id} is on its way with {by}.",
        f"Tracking number: {tracking_number}",
    ]
    if tracking_url:
        lines.append(f"Track it here: {tracking_url}")
    lines += ["", "Thank you for your order.", shop_name, ""]
    return subject, "\n".join(lines)


def queue_tracking_email(
    session: Session,
    order: SalesOrder,
    shipment_id: int,
    *,
    carrier: str,
    service: str,
    tracking_number: str,
    tracking_url: str = "",
) -> bool:
    """Queue the e-mail when the channel leaves it to the shop; return if queued.

    Nothing is queued without a tracking number or a customer e-mail
    address.
    """
    channel = session.get(Channel, order.channel_id)
    if channel is None or not channel.notify_customer:
        return False
    if not order.email or not tracking_number:
        return False
    subject, body = tracking_email(
        get_shop(session).name, order, carrier, service, tracking_number, tracking_url
    )
    queue_message(
        session,
        order.channel_id,
        EMAIL_KIND,
        {
            "to": order.email,
            "subject": subject,
            "body": body,
            "order_id": order.id,
            "shipment_id": shipment_id,
            "tracking_number": tracking_number,
        },
    )
    return True
