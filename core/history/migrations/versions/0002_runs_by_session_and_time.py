"""Schema version 2: one index on runs (session, created) serves the Runs page's newest-first list of a session;
it replaces the index on session alone, which it covers."""

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Swap the session index for the (session, created) one; record version 2 for apps that predate Alembic."""
    with op.batch_alter_table("runs") as runs:
        runs.create_index("ix_runs_session_created", ["session", "created"])
        runs.drop_index("ix_runs_session")
    op.execute(sa.text("UPDATE nnlab_schema SET version = 2, updated = CURRENT_TIMESTAMP WHERE id = 1"))


def downgrade() -> None:
    """Back to the index on session alone, version 1."""
    with op.batch_alter_table("runs") as runs:
        runs.create_index("ix_runs_session", ["session"])
        runs.drop_index("ix_runs_session_created")
    op.execute(sa.text("UPDATE nnlab_schema SET version = 1, updated = CURRENT_TIMESTAMP WHERE id = 1"))
