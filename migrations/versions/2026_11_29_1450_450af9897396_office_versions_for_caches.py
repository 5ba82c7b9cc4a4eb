"""office versions: raised by every change residents can see, the key of the caches

Revision ID: 450af9897396
Revises: dbe01d8a6e7c
Create Date: 2026-11-29 14:50:00.000000

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '450af9897396'
down_revision = 'dbe01d8a6e7c'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('office_version',
    sa.Column('office_id', sa.Integer(), nullable=False),
    sa.Column('version', sa.BigInteger(), nullable=False),
    sa.ForeignKeyConstraint(['office_id'], ['office.id'], name=op.f('fk_office_version_office_id_office'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('office_id', name=op.f('pk_office_version'))
    )
    # Every existing office starts at 1: above the 0 an office without a row reads as.
    op.execute('INSERT INTO office_version (office_id, version) SELECT id, 1 FROM office')


def downgrade():
    op.drop_table('office_version')
