"""Each user's language: ``users.locale`` (NULL: the browser's Accept-Language, then Chinese)

Revision ID: a0b1c2d3e4f5
Revises: f9a0b1c2d3e4
Create Date: 2026-12-02 09:00:00
"""

import sqlalchemy as sa
from alembic import op

revision = "a0b1c2d3e4f5"
down_revision = "f9a0b1c2d3e4"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("users", sa.Column("locale", sa.String(16), nullable=True))
    op.create_check_constraint(op.f("ck_users_locale"), "users", "locale IN ('zh_Hans_CN', 'en')")


def downgrade() -> None:
    op.drop_constraint(op.f("ck_users_locale"), "users")
    op.drop_column("users", "locale")
