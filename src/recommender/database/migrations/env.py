"""Alembic's environment: run the revisions on the connection :mod:`recommender.database.migrate`
hands
over, inside its transaction (so a failed upgrade leaves the schema as it was)."""

from alembic import context

from recommender.database import db

context.configure(
    connection=context.config.attributes["connection"],
    target_metadata=db.metadata,
    # SQLite cannot ALTER most things: batch mode copies the table, and does plain ALTERs on
    # PostgreSQL, so one revision script serves both.
    render_as_batch=True,
)
with context.begin_transaction():
    context.run_migrations()
