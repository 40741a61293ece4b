"""Run by Alembic, never imported: migrate the connection that core.history.migrations hands over."""

from alembic import context

config = context.config
if "connection" not in config.attributes:
    raise SystemExit("Migrate NN Lab's database with `python -m core db upgrade [--url URL]`.")
connection = config.attributes["connection"]
context.configure(connection=connection, target_metadata=config.attributes["metadata"],
                  render_as_batch=connection.dialect.name == "sqlite")  # SQLite alters tables by copying them
with context.begin_transaction():  # a no-op here: the caller holds the transaction (and the lock)
    context.run_migrations()
