"""Schema version 1, as NN Lab created it before Alembic: runs, boards and their entries, the version row.

A database made then has no alembic_version table; it is stamped at this revision instead of running it.
"""

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Create the version-1 tables."""
    stamp = sa.DateTime(timezone=True)
    version = op.create_table(
        "nnlab_schema", sa.Column("id", sa.Integer, primary_key=True), sa.Column("version", sa.Integer, nullable=False),
        sa.Column("updated", stamp, nullable=False))
    op.create_table(
        "runs", sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("session", sa.String(64), nullable=False, index=True),
        sa.Column("created", stamp, nullable=False, index=True), sa.Column("origin", sa.String(16), nullable=False),
        sa.Column("pinned", sa.Boolean, nullable=False), sa.Column("sweep", sa.String(64), index=True),
        sa.Column("status", sa.String(32), nullable=False), sa.Column("seconds", sa.Float, nullable=False),
        sa.Column("settings", sa.JSON, nullable=False), sa.Column("history", sa.JSON, nullable=False),
        sa.Column("metrics", sa.JSON, nullable=False), sa.Column("boundary", sa.JSON))
    op.create_table(
        "boards", sa.Column("id", sa.String(64), primary_key=True),
        sa.Column("secret_hash", sa.String(128), nullable=False), sa.Column("name", sa.String(200), nullable=False),
        sa.Column("settings", sa.JSON, nullable=False), sa.Column("created", stamp, nullable=False),
        sa.Column("closed", sa.Boolean, nullable=False), sa.Column("submissions", sa.Integer, nullable=False))
    op.create_table(
        "board_entries", sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("board", sa.String(64), sa.ForeignKey("boards.id", ondelete="CASCADE"), nullable=False,
                  index=True),
        sa.Column("nickname", sa.Text, nullable=False), sa.Column("session", sa.String(64), nullable=False, index=True),
        sa.Column("removal_hash", sa.String(128), nullable=False), sa.Column("created", stamp, nullable=False),
        sa.Column("validation_accuracy", sa.Float, nullable=False),
        sa.Column("test_accuracy", sa.Float, nullable=False), sa.Column("settings", sa.JSON, nullable=False),
        sa.Column("removed", sa.Boolean, nullable=False))
    op.create_index("ix_entries_rank", "board_entries", ["board", "validation_accuracy"])
    op.execute(version.insert().values(id=1, version=1, updated=sa.func.now()))


def downgrade() -> None:
    """Drop every table: there is nothing before version 1."""
    for table in ("board_entries", "boards", "runs", "nnlab_schema"):
        op.drop_table(table)
