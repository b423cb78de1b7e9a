"""suggestions: jobs have a kind (train or suggest); waiting texts may carry a suggested label and a source

Revision ID: 0002
Revises: 0001
Create Date: 2026-12-01
"""

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

STR = sqlmodel.sql.sqltypes.AutoString


def upgrade() -> None:
    with op.batch_alter_table("job") as batch:
        batch.add_column(sa.Column("kind", STR(), nullable=False, server_default="train"))
    with op.batch_alter_table("pooltext") as batch:
        batch.add_column(sa.Column("suggested_label", STR(), nullable=True))
        batch.add_column(sa.Column("source", STR(), nullable=False, server_default="pasted"))


def downgrade() -> None:
    with op.batch_alter_table("pooltext") as batch:
        batch.drop_column("source")
        batch.drop_column("suggested_label")
    with op.batch_alter_table("job") as batch:
        batch.drop_column("kind")
