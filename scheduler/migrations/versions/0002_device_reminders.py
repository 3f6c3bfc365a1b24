"""device reminders: the reminders permission, pause and skip, alert tokens

Revision ID: 0002
Revises: 0001
Create Date: 2026-12-02 16:10:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import scheduler.db


revision: str = '0002'
down_revision: str | None = '0001'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table('users', schema=None) as batch_op:
        # Existing users have not granted the new permission.
        batch_op.add_column(sa.Column('reminders_allowed', sa.Boolean(), nullable=False, server_default=sa.false()))

    with op.batch_alter_table('reminders', schema=None) as batch_op:
        batch_op.add_column(sa.Column('paused_until', scheduler.db.UTCDateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('skip_on', sa.Date(), nullable=True))

    with op.batch_alter_table('deliveries', schema=None) as batch_op:
        batch_op.add_column(sa.Column('alert_token', sa.String(length=256), nullable=True))
        batch_op.create_index(batch_op.f('ix_deliveries_alert_token'), ['alert_token'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('deliveries', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_deliveries_alert_token'))
        batch_op.drop_column('alert_token')

    with op.batch_alter_table('reminders', schema=None) as batch_op:
        batch_op.drop_column('skip_on')
        batch_op.drop_column('paused_until')

    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.drop_column('reminders_allowed')
