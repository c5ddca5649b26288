"""Alembic environment: migrates the engine handed in by ``app.core.db``."""

from __future__ import annotations

from typing import Any

from alembic import context
from sqlalchemy import DateTime

import app.core.models  # noqa: F401  (registers every table)
from app.core.models.base import Base, UTCDateTime

config = context.config


def render_item(type_: str, obj: Any, autogen_context: Any) -> str | bool:
    """Render the project's column types as plain SQLAlchemy types."""
    if type_ == "type" and isinstance(obj, UTCDateTime):
        return "sa.DateTime()"
    return False


def run_migrations() -> None:
    engine = config.attributes.get("engine")
    if engine is None:
        raise RuntimeError("migrations are run through app.core.db.upgrade()")
    with engine.connect() as connection:
        context.configure(
            connection=connection,
            target_metadata=Base.metadata,
            render_as_batch=connection.dialect.name == "sqlite",
            render_item=render_item,
            compare_type=True,
            transaction_per_migration=False,
        )
        with context.begin_transaction():
            context.run_migrations()
        connection.commit()


_ = DateTime
run_migrations()
