"""The audit trail: who changed what, when and why."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from app.core.models import AuditEvent
from app.core.uow import UnitOfWork


def record(
    uow: UnitOfWork,
    action: str,
    entity: str,
    entity_id: int | None,
    *,
    reason: str | None = None,
    detail: dict[str, Any] | None = None,
) -> None:
    """Add an audit event to the current transaction."""
    uow.session.add(
        AuditEvent(
            at=datetime.now(UTC),
            user_id=uow.user_id,
            action=action,
            entity=entity,
            entity_id=entity_id,
            reason=reason,
            detail=detail or {},
        )
    )
