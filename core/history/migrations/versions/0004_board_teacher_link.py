"""Schema version 4: boards.key_hash, the sha256 of a board's one live teacher link (NULL: none), so that making a
new teacher link revokes every earlier one. Links made before this version were signatures, not stored: the
upgrade leaves none live, and each board's teacher tab keeps the board and makes a new one."""

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Add boards.key_hash, empty; record version 4 for apps that predate Alembic."""
    with op.batch_alter_table("boards") as boards:
        boards.add_column(sa.Column("key_hash", sa.String(128), nullable=True))
    op.execute(sa.text("UPDATE nnlab_schema SET version = 4, updated = CURRENT_TIMESTAMP WHERE id = 1"))


def downgrade() -> None:
    """Drop boards.key_hash, back to version 3 (links made at version 4 stop working)."""
    with op.batch_alter_table("boards") as boards:
        boards.drop_column("key_hash")
    op.execute(sa.text("UPDATE nnlab_schema SET version = 3, updated = CURRENT_TIMESTAMP WHERE id = 1"))
