"""initial schema: classifiers, labels, examples, changes, model versions, jobs, pool texts

Revision ID: 0001
Revises:
Create Date: 2026-12-01
"""

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

STR = sqlmodel.sql.sqltypes.AutoString


def upgrade() -> None:
    op.create_table(
        "classifier",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("name", STR(), nullable=False),
        sa.Column("description", STR(), nullable=False),
        sa.Column("data_version", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
    )
    op.create_index("ix_classifier_name", "classifier", ["name"], unique=True)
    op.create_table(
        "label",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("classifier_id", sa.Integer(), sa.ForeignKey("classifier.id"), nullable=False),
        sa.Column("name", STR(), nullable=False),
        sa.Column("description", STR(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.UniqueConstraint("classifier_id", "name"),
    )
    op.create_index("ix_label_classifier_id", "label", ["classifier_id"])
    op.create_table(
        "example",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("classifier_id", sa.Integer(), sa.ForeignKey("classifier.id"), nullable=False),
        sa.Column("text", STR(), nullable=False),
        sa.Column("label", STR(), nullable=False),
        sa.Column("source", STR(), nullable=False),
        sa.Column("revision", sa.Integer(), nullable=False),
        sa.Column("deleted", sa.Boolean(), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
    )
    op.create_index("ix_example_classifier_id", "example", ["classifier_id"])
    op.create_table(
        "change",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("classifier_id", sa.Integer(), sa.ForeignKey("classifier.id"), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("op", STR(), nullable=False),
        sa.Column("entity", STR(), nullable=False),
        sa.Column("entity_id", sa.Integer(), nullable=False),
        sa.Column("before", sa.JSON(), nullable=True),
        sa.Column("after", sa.JSON(), nullable=True),
        sa.Column("undo_of", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.UniqueConstraint("classifier_id", "version", "entity", "entity_id"),
    )
    op.create_index("ix_change_classifier_id", "change", ["classifier_id"])
    op.create_table(
        "modelversion",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("classifier_id", sa.Integer(), sa.ForeignKey("classifier.id"), nullable=False),
        sa.Column("number", sa.Integer(), nullable=False),
        sa.Column("method", STR(), nullable=False),
        sa.Column("params", sa.JSON(), nullable=True),
        sa.Column("data_version", sa.Integer(), nullable=False),
        sa.Column("n_examples", sa.Integer(), nullable=False),
        sa.Column("data_sha256", STR(), nullable=False),
        sa.Column("metrics", sa.JSON(), nullable=True),
        sa.Column("diagnostics", sa.JSON(), nullable=True),
        sa.Column("test_metrics", sa.JSON(), nullable=True),
        sa.Column("artifact_path", STR(), nullable=False),
        sa.Column("fit_s", sa.Float(), nullable=False),
        sa.Column("job_id", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.UniqueConstraint("classifier_id", "number"),
    )
    op.create_index("ix_modelversion_classifier_id", "modelversion", ["classifier_id"])
    op.create_table(
        "job",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("classifier_id", sa.Integer(), sa.ForeignKey("classifier.id"), nullable=False),
        sa.Column("method", STR(), nullable=False),
        sa.Column("params", sa.JSON(), nullable=True),
        sa.Column("status", STR(), nullable=False),
        sa.Column("progress", sa.Float(), nullable=False),
        sa.Column("message", STR(), nullable=False),
        sa.Column("error", STR(), nullable=True),
        sa.Column("cancel_requested", sa.Boolean(), nullable=False),
        sa.Column("model_version_id", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("started_at", sa.DateTime(), nullable=True),
        sa.Column("finished_at", sa.DateTime(), nullable=True),
    )
    op.create_index("ix_job_classifier_id", "job", ["classifier_id"])
    op.create_table(
        "pooltext",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("classifier_id", sa.Integer(), sa.ForeignKey("classifier.id"), nullable=False),
        sa.Column("text", STR(), nullable=False),
        sa.Column("example_id", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTime(), nullable=False),
    )
    op.create_index("ix_pooltext_classifier_id", "pooltext", ["classifier_id"])


def downgrade() -> None:
    for table in ("pooltext", "job", "modelversion", "change", "example", "label", "classifier"):
        op.drop_table(table)
