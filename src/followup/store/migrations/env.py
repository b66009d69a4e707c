"""Alembic environment: run with the connection that ``Store.migrate`` passes in."""

from __future__ import annotations

from alembic import context

from followup.store.models import Base

target_metadata = Base.metadata
connection = context.config.attributes.get("connection")
if connection is None:  # pragma: no cover - followup always passes one
    raise RuntimeError("run migrations through `followup init`")

context.configure(
    connection=connection,
    target_metadata=target_metadata,
    render_as_batch=connection.dialect.name == "sqlite",
    compare_type=True,
)
with context.begin_transaction():
    context.run_migrations()
