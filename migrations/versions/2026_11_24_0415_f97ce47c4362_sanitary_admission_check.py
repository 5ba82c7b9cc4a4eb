"""sanitary admission check: regime, questions, outcomes, departments, phone bookings, link tokens

Revision ID: f97ce47c4362
Revises: 20c66c67a9ee
Create Date: 2026-11-24 04:15:21.426118

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = 'f97ce47c4362'
down_revision = '20c66c67a9ee'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('admission_policy',
    sa.Column('office_id', sa.Integer(), nullable=False),
    sa.Column('enabled', sa.Boolean(), nullable=False),
    sa.Column('first_day', sa.Date(), nullable=True),
    sa.Column('last_day', sa.Date(), nullable=True),
    sa.Column('notices', sa.JSON(), nullable=False),
    sa.Column('link_hours_before', sa.Integer(), nullable=False),
    sa.Column('rebook_after_days', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['office_id'], ['office.id'], name=op.f('fk_admission_policy_office_id_office'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('office_id', name=op.f('pk_admission_policy'))
    )
    op.create_table('admission_question',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('office_id', sa.Integer(), nullable=False),
    sa.Column('key', sa.String(length=40), nullable=False),
    sa.Column('position', sa.Integer(), nullable=False),
    sa.Column('texts', sa.JSON(), nullable=False),
    sa.Column('refuse_on', sa.Boolean(), nullable=False),
    sa.ForeignKeyConstraint(['office_id'], ['office.id'], name=op.f('fk_admission_question_office_id_office'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_admission_question')),
    sa.UniqueConstraint('office_id', 'key', name=op.f('uq_admission_question_office_id_key'))
    )
    op.create_table('department',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('office_id', sa.Integer(), nullable=False),
    sa.Column('key', sa.String(length=64), nullable=False),
    sa.Column('kind', sa.String(length=20), nullable=False),
    sa.Column('position', sa.Integer(), nullable=False),
    sa.Column('names', sa.JSON(), nullable=False),
    sa.Column('email', sa.String(length=200), nullable=True),
    sa.Column('address', sa.String(length=300), nullable=True),
    sa.Column('phones', sa.JSON(), nullable=False),
    sa.ForeignKeyConstraint(['office_id'], ['office.id'], name=op.f('fk_department_office_id_office'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_department')),
    sa.UniqueConstraint('office_id', 'key', name=op.f('uq_department_office_id_key'))
    )
    op.create_table('admission_check',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('office_id', sa.Integer(), nullable=False),
    sa.Column('booking_id', sa.Integer(), nullable=True),
    sa.Column('ticket_id', sa.Integer(), nullable=True),
    sa.Column('staff_id', sa.Integer(), nullable=True),
    sa.Column('place', sa.String(length=20), nullable=False),
    sa.Column('admitted', sa.Boolean(), nullable=False),
    sa.Column('question', sa.String(length=40), nullable=True),
    sa.Column('reason', sa.String(length=20), nullable=True),
    sa.Column('at', sa.DateTime(), nullable=False),
    sa.CheckConstraint("place IN ('booking', 'online', 'kiosk', 'counter')", name=op.f('ck_admission_check_place_known')),
    sa.ForeignKeyConstraint(['booking_id'], ['booking.id'], name=op.f('fk_admission_check_booking_id_booking'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['office_id'], ['office.id'], name=op.f('fk_admission_check_office_id_office'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['staff_id'], ['staff_user.id'], name=op.f('fk_admission_check_staff_id_staff_user'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['ticket_id'], ['ticket.id'], name=op.f('fk_admission_check_ticket_id_ticket'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_admission_check'))
    )
    op.create_table('booking_token',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('booking_id', sa.Integer(), nullable=False),
    sa.Column('token_hash', sa.String(length=64), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.ForeignKeyConstraint(['booking_id'], ['booking.id'], name=op.f('fk_booking_token_booking_id_booking'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_booking_token')),
    sa.UniqueConstraint('token_hash', name=op.f('uq_booking_token_token_hash'))
    )
    with op.batch_alter_table('booking_token', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_booking_token_booking_id'), ['booking_id'], unique=False)

    with op.batch_alter_table('admission_check', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_admission_check_at'), ['at'], unique=False)
        batch_op.create_index(batch_op.f('ix_admission_check_booking_id'), ['booking_id'], unique=False)

    with op.batch_alter_table('booking', schema=None) as batch_op:
        batch_op.add_column(sa.Column('mode', sa.Enum('in_person', 'phone', name='bookingmode', native_enum=False, length=20), server_default='in_person', nullable=False))
        batch_op.add_column(sa.Column('refused_at', sa.DateTime(), nullable=True))

    with op.batch_alter_table('office', schema=None) as batch_op:
        batch_op.add_column(sa.Column('postal_address', sa.String(length=300), nullable=True))
        batch_op.add_column(sa.Column('drop_box', sa.JSON(), nullable=False, server_default=sa.text("'{}'")))

    with op.batch_alter_table('service', schema=None) as batch_op:
        batch_op.add_column(sa.Column('department_id', sa.Integer(), nullable=True))
        batch_op.create_foreign_key(batch_op.f('fk_service_department_id_department'), 'department', ['department_id'], ['id'], ondelete='SET NULL')



def downgrade():
    with op.batch_alter_table('service', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('fk_service_department_id_department'), type_='foreignkey')
        batch_op.drop_column('department_id')

    with op.batch_alter_table('office', schema=None) as batch_op:
        batch_op.drop_column('drop_box')
        batch_op.drop_column('postal_address')

    with op.batch_alter_table('booking', schema=None) as batch_op:
        batch_op.drop_column('refused_at')
        batch_op.drop_column('mode')

    with op.batch_alter_table('admission_check', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_admission_check_booking_id'))
        batch_op.drop_index(batch_op.f('ix_admission_check_at'))

    with op.batch_alter_table('booking_token', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_booking_token_booking_id'))

    op.drop_table('booking_token')
    op.drop_table('admission_check')
    op.drop_table('department')
    op.drop_table('admission_question')
    op.drop_table('admission_policy')
