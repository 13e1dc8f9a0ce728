"""views: catalog, catalog_changes, health_latest

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-23
"""

from alembic import op

from etl import views

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    for statement in views.create_statements(op.get_bind().dialect.name):
        op.execute(statement)


def downgrade() -> None:
    for statement in views.drop_statements():
        op.execute(statement)
