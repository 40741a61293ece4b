"""Schema version 3: session_owners, which browser tab made each session token (the sha256 of the tab's secret),
so that any server can tell whether a tab may take a forgotten token's run history."""

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Create session_owners; record version 3 for apps that predate Alembic."""
    op.create_table(
        "session_owners", sa.Column("token", sa.String(64), primary_key=True),
        sa.Column("secret_hash", sa.String(64), nullable=False),
        sa.Column("created", sa.DateTime(timezone=True), nullable=False))
    op.create_index("ix_session_owners_created", "session_owners", ["created"])
    op.execute(sa.text("UPDATE nnlab_schema SET version = 3, updated = CURRENT_TIMESTAMP WHERE id = 1"))


def downgrade() -> None:
    """Drop session_owners, back to version 2."""
    op.drop_index("ix_session_owners_created", "session_owners")
    op.drop_table("session_owners")
    op.execute(sa.text("UPDATE nnlab_schema SET version = 2, updated = CURRENT_TIMESTAMP WHERE id = 1"))
