"""scheduled work: reminders, no-shows, retention, mail queue

Revision ID: 1a4342218e4f
Revises: f97ce47c4362
Create Date: 2026-11-24 04:49:55.304431

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '1a4342218e4f'
down_revision = 'f97ce47c4362'
branch_labels = None
depends_on = None


def upgrade():
    # APScheduler's job store, as APScheduler 3.11 defines it.
    op.create_table('apscheduler_jobs',
    sa.Column('id', sa.Unicode(length=191), nullable=False),
    sa.Column('next_run_time', sa.Float(precision=25), nullable=True),
    sa.Column('job_state', sa.LargeBinary(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_apscheduler_jobs'))
    )
    with op.batch_alter_table('apscheduler_jobs', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_apscheduler_jobs_next_run_time'), ['next_run_time'], unique=False)

    op.create_table('queued_mail',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('office_id', sa.Integer(), nullable=True),
    sa.Column('booking_id', sa.Integer(), nullable=True),
    sa.Column('recipient', sa.String(length=254), nullable=False),
    sa.Column('subject', sa.String(length=300), nullable=False),
    sa.Column('message', sa.LargeBinary(), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.Column('attempts', sa.Integer(), nullable=False),
    sa.Column('next_attempt_at', sa.DateTime(), nullable=False),
    sa.Column('claimed_until', sa.DateTime(), nullable=True),
    sa.Column('sent_at', sa.DateTime(), nullable=True),
    sa.Column('failed_at', sa.DateTime(), nullable=True),
    sa.Column('last_error', sa.String(length=300), nullable=True),
    sa.ForeignKeyConstraint(['booking_id'], ['booking.id'], name=op.f('fk_queued_mail_booking_id_booking'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['office_id'], ['office.id'], name=op.f('fk_queued_mail_office_id_office'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_queued_mail'))
    )
    with op.batch_alter_table('queued_mail', schema=None) as batch_op:
        batch_op.create_index('ix_queued_mail_due', ['sent_at', 'failed_at', 'next_attempt_at'], unique=False)

    # An anonymised booking keeps no contact: the check allows that, and only that.
    with op.batch_alter_table('booking', schema=None) as batch_op:
        batch_op.add_column(sa.Column('reminder_sent_at', sa.DateTime(), nullable=True))
        batch_op.add_column(sa.Column('anonymized_at', sa.DateTime(), nullable=True))
        batch_op.drop_constraint(op.f('ck_booking_has_contact'), type_='check')
        batch_op.create_check_constraint(
            'has_contact', 'email IS NOT NULL OR phone IS NOT NULL OR anonymized_at IS NOT NULL'
        )

    with op.batch_alter_table('office', schema=None) as batch_op:
        batch_op.add_column(sa.Column('reminder_time', sa.Time(), nullable=False, server_default='16:00:00'))



def downgrade():
    with op.batch_alter_table('office', schema=None) as batch_op:
        batch_op.drop_column('reminder_time')

    with op.batch_alter_table('booking', schema=None) as batch_op:
        batch_op.drop_constraint(op.f('ck_booking_has_contact'), type_='check')
        batch_op.create_check_constraint('has_contact', 'email IS NOT NULL OR phone IS NOT NULL')
        batch_op.drop_column('anonymized_at')
        batch_op.drop_column('reminder_sent_at')

    with op.batch_alter_table('queued_mail', schema=None) as batch_op:
        batch_op.drop_index('ix_queued_mail_due')

    op.drop_table('queued_mail')

    with op.batch_alter_table('apscheduler_jobs', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_apscheduler_jobs_next_run_time'))

    op.drop_table('apscheduler_jobs')
