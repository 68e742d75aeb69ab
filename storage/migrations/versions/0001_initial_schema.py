"""initial schema

Revision ID: 0001
Revises: 
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

import storage.types


revision: str = '0001'
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('candidates',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('full_name', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
    sa.Column('name_key', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
    sa.Column('email', sqlmodel.sql.sqltypes.AutoString(length=320), nullable=True),
    sa.Column('email_normalized', sqlmodel.sql.sqltypes.AutoString(length=320), nullable=True),
    sa.Column('phone_e164', sqlmodel.sql.sqltypes.AutoString(length=20), nullable=True),
    sa.Column('profile_url', sqlmodel.sql.sqltypes.AutoString(length=500), nullable=True),
    sa.Column('profile_url_key', sqlmodel.sql.sqltypes.AutoString(length=500), nullable=True),
    sa.Column('location', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=True),
    sa.Column('skills', sa.JSON(), nullable=False),
    sa.Column('seniority', sqlmodel.sql.sqltypes.AutoString(length=40), nullable=True),
    sa.Column('source', sqlmodel.sql.sqltypes.AutoString(length=20), nullable=False),
    sa.Column('talent_pool', sqlmodel.sql.sqltypes.AutoString(length=80), nullable=True),
    sa.Column('owner_slack_id', sqlmodel.sql.sqltypes.AutoString(length=20), nullable=True),
    sa.Column('status', sqlmodel.sql.sqltypes.AutoString(length=20), nullable=False),
    sa.Column('open_to_opportunities', sa.Boolean(), nullable=False),
    sa.Column('created_at', storage.types.UTCDateTime(), nullable=False),
    sa.Column('updated_at', storage.types.UTCDateTime(), nullable=False),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('email_normalized', name='uq_candidates_email'),
    sa.UniqueConstraint('phone_e164', name='uq_candidates_phone')
    )
    with op.batch_alter_table('candidates', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_candidates_name_key'), ['name_key'], unique=False)
        batch_op.create_index(batch_op.f('ix_candidates_owner_slack_id'), ['owner_slack_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_candidates_profile_url_key'), ['profile_url_key'], unique=False)
        batch_op.create_index(batch_op.f('ix_candidates_status'), ['status'], unique=False)

    op.create_table('inbound_jobs',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('key', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
    sa.Column('kind', sqlmodel.sql.sqltypes.AutoString(length=40), nullable=False),
    sa.Column('payload', sa.JSON(), nullable=False),
    sa.Column('status', sqlmodel.sql.sqltypes.AutoString(length=10), nullable=False),
    sa.Column('attempts', sa.Integer(), nullable=False),
    sa.Column('received_at', storage.types.UTCDateTime(), nullable=False),
    sa.Column('next_attempt_at', storage.types.UTCDateTime(), nullable=False),
    sa.Column('claimed_until', storage.types.UTCDateTime(), nullable=True),
    sa.Column('finished_at', storage.types.UTCDateTime(), nullable=True),
    sa.Column('last_error', sqlmodel.sql.sqltypes.AutoString(length=500), nullable=True),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('key')
    )
    with op.batch_alter_table('inbound_jobs', schema=None) as batch_op:
        batch_op.create_index('ix_inbound_jobs_status_next', ['status', 'next_attempt_at'], unique=False)

    op.create_table('outbox',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('method', sqlmodel.sql.sqltypes.AutoString(length=40), nullable=False),
    sa.Column('payload', sa.JSON(), nullable=False),
    sa.Column('dedupe_key', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
    sa.Column('status', sqlmodel.sql.sqltypes.AutoString(length=10), nullable=False),
    sa.Column('attempts', sa.Integer(), nullable=False),
    sa.Column('next_attempt_at', storage.types.UTCDateTime(), nullable=False),
    sa.Column('claimed_until', storage.types.UTCDateTime(), nullable=True),
    sa.Column('last_error', sqlmodel.sql.sqltypes.AutoString(length=500), nullable=True),
    sa.Column('result_channel', sqlmodel.sql.sqltypes.AutoString(length=20), nullable=True),
    sa.Column('result_ts', sqlmodel.sql.sqltypes.AutoString(length=32), nullable=True),
    sa.Column('created_at', storage.types.UTCDateTime(), nullable=False),
    sa.Column('sent_at', storage.types.UTCDateTime(), nullable=True),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('dedupe_key')
    )
    with op.batch_alter_table('outbox', schema=None) as batch_op:
        batch_op.create_index('ix_outbox_status_next', ['status', 'next_attempt_at'], unique=False)

    op.create_table('processed_requests',
    sa.Column('key', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
    sa.Column('processed_at', storage.types.UTCDateTime(), nullable=False),
    sa.PrimaryKeyConstraint('key')
    )
    with op.batch_alter_table('processed_requests', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_processed_requests_processed_at'), ['processed_at'], unique=False)

    op.create_table('webhooks',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('event', sqlmodel.sql.sqltypes.AutoString(length=60), nullable=False),
    sa.Column('url', sqlmodel.sql.sqltypes.AutoString(length=500), nullable=False),
    sa.Column('payload', sa.JSON(), nullable=False),
    sa.Column('dedupe_key', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
    sa.Column('status', sqlmodel.sql.sqltypes.AutoString(length=10), nullable=False),
    sa.Column('attempts', sa.Integer(), nullable=False),
    sa.Column('next_attempt_at', storage.types.UTCDateTime(), nullable=False),
    sa.Column('claimed_until', storage.types.UTCDateTime(), nullable=True),
    sa.Column('last_status_code', sa.Integer(), nullable=True),
    sa.Column('last_error', sqlmodel.sql.sqltypes.AutoString(length=500), nullable=True),
    sa.Column('created_at', storage.types.UTCDateTime(), nullable=False),
    sa.Column('delivered_at', storage.types.UTCDateTime(), nullable=True),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('dedupe_key')
    )
    with op.batch_alter_table('webhooks', schema=None) as batch_op:
        batch_op.create_index('ix_webhooks_status_next', ['status', 'next_attempt_at'], unique=False)

    op.create_table('candidate_engagement',
    sa.Column('candidate_id', sa.Integer(), nullable=False),
    sa.Column('score', sa.Integer(), nullable=False),
    sa.Column('opens', sa.Integer(), nullable=False),
    sa.Column('clicks', sa.Integer(), nullable=False),
    sa.Column('replies', sa.Integer(), nullable=False),
    sa.Column('last_event_at', storage.types.UTCDateTime(), nullable=True),
    sa.Column('routed_at', storage.types.UTCDateTime(), nullable=True),
    sa.ForeignKeyConstraint(['candidate_id'], ['candidates.id'], ),
    sa.PrimaryKeyConstraint('candidate_id')
    )
    with op.batch_alter_table('candidate_engagement', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_candidate_engagement_score'), ['score'], unique=False)

    op.create_table('candidate_search',
    sa.Column('candidate_id', sa.Integer(), nullable=False),
    sa.Column('document', sqlmodel.sql.sqltypes.AutoString(), nullable=False),
    sa.Column('updated_at', storage.types.UTCDateTime(), nullable=False),
    sa.ForeignKeyConstraint(['candidate_id'], ['candidates.id'], ),
    sa.PrimaryKeyConstraint('candidate_id')
    )
    op.create_table('consents',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('candidate_id', sa.Integer(), nullable=False),
    sa.Column('kind', sqlmodel.sql.sqltypes.AutoString(length=30), nullable=False),
    sa.Column('action', sqlmodel.sql.sqltypes.AutoString(length=10), nullable=False),
    sa.Column('recorded_at', storage.types.UTCDateTime(), nullable=False),
    sa.Column('evidence', sqlmodel.sql.sqltypes.AutoString(length=500), nullable=False),
    sa.Column('recorded_by_slack_id', sqlmodel.sql.sqltypes.AutoString(length=20), nullable=True),
    sa.Column('expires_at', storage.types.UTCDateTime(), nullable=True),
    sa.ForeignKeyConstraint(['candidate_id'], ['candidates.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('consents', schema=None) as batch_op:
        batch_op.create_index('ix_consents_candidate_kind', ['candidate_id', 'kind', 'recorded_at'], unique=False)

    op.create_table('emails',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('kind', sqlmodel.sql.sqltypes.AutoString(length=40), nullable=False),
    sa.Column('candidate_id', sa.Integer(), nullable=True),
    sa.Column('to', sa.JSON(), nullable=False),
    sa.Column('reply_to', sqlmodel.sql.sqltypes.AutoString(length=320), nullable=True),
    sa.Column('subject', sqlmodel.sql.sqltypes.AutoString(length=300), nullable=False),
    sa.Column('text_body', sqlmodel.sql.sqltypes.AutoString(), nullable=False),
    sa.Column('html_body', sqlmodel.sql.sqltypes.AutoString(), nullable=True),
    sa.Column('headers', sa.JSON(), nullable=False),
    sa.Column('attachments', sa.JSON(), nullable=False),
    sa.Column('dedupe_key', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
    sa.Column('status', sqlmodel.sql.sqltypes.AutoString(length=10), nullable=False),
    sa.Column('attempts', sa.Integer(), nullable=False),
    sa.Column('next_attempt_at', storage.types.UTCDateTime(), nullable=False),
    sa.Column('claimed_until', storage.types.UTCDateTime(), nullable=True),
    sa.Column('last_error', sqlmodel.sql.sqltypes.AutoString(length=500), nullable=True),
    sa.Column('message_id', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=True),
    sa.Column('created_at', storage.types.UTCDateTime(), nullable=False),
    sa.Column('sent_at', storage.types.UTCDateTime(), nullable=True),
    sa.ForeignKeyConstraint(['candidate_id'], ['candidates.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('dedupe_key')
    )
    with op.batch_alter_table('emails', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_emails_candidate_id'), ['candidate_id'], unique=False)
        batch_op.create_index('ix_emails_status_next', ['status', 'next_attempt_at'], unique=False)

    op.create_table('nurture_enrollments',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('candidate_id', sa.Integer(), nullable=False),
    sa.Column('sequence', sqlmodel.sql.sqltypes.AutoString(length=60), nullable=False),
    sa.Column('status', sqlmodel.sql.sqltypes.AutoString(length=12), nullable=False),
    sa.Column('next_step', sa.Integer(), nullable=False),
    sa.Column('next_step_at', storage.types.UTCDateTime(), nullable=True),
    sa.Column('enrolled_by_slack_id', sqlmodel.sql.sqltypes.AutoString(length=20), nullable=False),
    sa.Column('enrolled_at', storage.types.UTCDateTime(), nullable=False),
    sa.Column('stopped_at', storage.types.UTCDateTime(), nullable=True),
    sa.Column('stop_reason', sqlmodel.sql.sqltypes.AutoString(length=60), nullable=True),
    sa.Column('updated_at', storage.types.UTCDateTime(), nullable=False),
    sa.ForeignKeyConstraint(['candidate_id'], ['candidates.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('candidate_id', 'sequence', name='uq_nurture_enrollments_candidate_sequence')
    )
    with op.batch_alter_table('nurture_enrollments', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_nurture_enrollments_candidate_id'), ['candidate_id'], unique=False)
        batch_op.create_index('ix_nurture_enrollments_status_due', ['status', 'next_step_at'], unique=False)

    op.create_table('positions',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('title', sqlmodel.sql.sqltypes.AutoString(length=150), nullable=False),
    sa.Column('hiring_manager_slack_id', sqlmodel.sql.sqltypes.AutoString(length=20), nullable=True),
    sa.Column('location', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=True),
    sa.Column('required_skills', sa.JSON(), nullable=False),
    sa.Column('client_company', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=True),
    sa.Column('fee_amount', sa.Integer(), nullable=True),
    sa.Column('fee_currency', sqlmodel.sql.sqltypes.AutoString(length=3), nullable=True),
    sa.Column('status', sqlmodel.sql.sqltypes.AutoString(length=20), nullable=False),
    sa.Column('close_reason', sqlmodel.sql.sqltypes.AutoString(length=20), nullable=True),
    sa.Column('placed_candidate_id', sa.Integer(), nullable=True),
    sa.Column('created_by_slack_id', sqlmodel.sql.sqltypes.AutoString(length=20), nullable=True),
    sa.Column('created_at', storage.types.UTCDateTime(), nullable=False),
    sa.Column('updated_at', storage.types.UTCDateTime(), nullable=False),
    sa.ForeignKeyConstraint(['placed_candidate_id'], ['candidates.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('positions', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_positions_hiring_manager_slack_id'), ['hiring_manager_slack_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_positions_status'), ['status'], unique=False)

    op.create_table('applications',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('candidate_id', sa.Integer(), nullable=False),
    sa.Column('position_id', sa.Integer(), nullable=False),
    sa.Column('stage', sqlmodel.sql.sqltypes.AutoString(length=60), nullable=False),
    sa.Column('stage_entered_at', storage.types.UTCDateTime(), nullable=False),
    sa.Column('status', sqlmodel.sql.sqltypes.AutoString(length=20), nullable=False),
    sa.Column('last_activity_at', storage.types.UTCDateTime(), nullable=True),
    sa.Column('stale_snoozed_until', storage.types.UTCDateTime(), nullable=True),
    sa.Column('created_at', storage.types.UTCDateTime(), nullable=False),
    sa.Column('closed_at', storage.types.UTCDateTime(), nullable=True),
    sa.Column('hired_at', storage.types.UTCDateTime(), nullable=True),
    sa.Column('left_at', storage.types.UTCDateTime(), nullable=True),
    sa.ForeignKeyConstraint(['candidate_id'], ['candidates.id'], ),
    sa.ForeignKeyConstraint(['position_id'], ['positions.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('candidate_id', 'position_id', name='uq_applications_candidate_position')
    )
    with op.batch_alter_table('applications', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_applications_candidate_id'), ['candidate_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_applications_position_id'), ['position_id'], unique=False)
        batch_op.create_index('ix_applications_status_last_activity', ['status', 'last_activity_at'], unique=False)
        batch_op.create_index('ix_applications_status_stage', ['status', 'stage'], unique=False)

    op.create_table('nurture_sends',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('enrollment_id', sa.Integer(), nullable=False),
    sa.Column('candidate_id', sa.Integer(), nullable=False),
    sa.Column('sequence', sqlmodel.sql.sqltypes.AutoString(length=60), nullable=False),
    sa.Column('step', sa.Integer(), nullable=False),
    sa.Column('template', sqlmodel.sql.sqltypes.AutoString(length=80), nullable=False),
    sa.Column('outcome', sqlmodel.sql.sqltypes.AutoString(length=12), nullable=False),
    sa.Column('email_id', sa.Integer(), nullable=True),
    sa.Column('links', sa.JSON(), nullable=False),
    sa.Column('created_at', storage.types.UTCDateTime(), nullable=False),
    sa.Column('opened_at', storage.types.UTCDateTime(), nullable=True),
    sa.Column('clicked_at', storage.types.UTCDateTime(), nullable=True),
    sa.Column('replied_at', storage.types.UTCDateTime(), nullable=True),
    sa.ForeignKeyConstraint(['candidate_id'], ['candidates.id'], ),
    sa.ForeignKeyConstraint(['email_id'], ['emails.id'], ),
    sa.ForeignKeyConstraint(['enrollment_id'], ['nurture_enrollments.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('enrollment_id', 'step', name='uq_nurture_sends_enrollment_step')
    )
    with op.batch_alter_table('nurture_sends', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_nurture_sends_candidate_id'), ['candidate_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_nurture_sends_email_id'), ['email_id'], unique=False)
        batch_op.create_index('ix_nurture_sends_sequence', ['sequence', 'created_at'], unique=False)

    op.create_table('outreach_drafts',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('candidate_id', sa.Integer(), nullable=False),
    sa.Column('position_id', sa.Integer(), nullable=True),
    sa.Column('purpose', sqlmodel.sql.sqltypes.AutoString(length=30), nullable=False),
    sa.Column('status', sqlmodel.sql.sqltypes.AutoString(length=12), nullable=False),
    sa.Column('source', sqlmodel.sql.sqltypes.AutoString(length=12), nullable=False),
    sa.Column('source_note', sqlmodel.sql.sqltypes.AutoString(length=40), nullable=True),
    sa.Column('subject', sqlmodel.sql.sqltypes.AutoString(length=300), nullable=False),
    sa.Column('body', sqlmodel.sql.sqltypes.AutoString(), nullable=False),
    sa.Column('html_body', sqlmodel.sql.sqltypes.AutoString(), nullable=True),
    sa.Column('flags', sa.JSON(), nullable=False),
    sa.Column('model', sqlmodel.sql.sqltypes.AutoString(length=120), nullable=True),
    sa.Column('prompt_sent', sa.JSON(), nullable=False),
    sa.Column('model_output', sqlmodel.sql.sqltypes.AutoString(), nullable=True),
    sa.Column('model_error', sqlmodel.sql.sqltypes.AutoString(length=500), nullable=True),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('requested_by_slack_id', sqlmodel.sql.sqltypes.AutoString(length=20), nullable=False),
    sa.Column('channel_id', sqlmodel.sql.sqltypes.AutoString(length=20), nullable=True),
    sa.Column('thread_ts', sqlmodel.sql.sqltypes.AutoString(length=32), nullable=True),
    sa.Column('message_ts', sqlmodel.sql.sqltypes.AutoString(length=32), nullable=True),
    sa.Column('decided_by_slack_id', sqlmodel.sql.sqltypes.AutoString(length=20), nullable=True),
    sa.Column('decided_at', storage.types.UTCDateTime(), nullable=True),
    sa.Column('reply_to', sqlmodel.sql.sqltypes.AutoString(length=320), nullable=True),
    sa.Column('email_id', sa.Integer(), nullable=True),
    sa.Column('created_at', storage.types.UTCDateTime(), nullable=False),
    sa.Column('updated_at', storage.types.UTCDateTime(), nullable=False),
    sa.ForeignKeyConstraint(['candidate_id'], ['candidates.id'], ),
    sa.ForeignKeyConstraint(['email_id'], ['emails.id'], ),
    sa.ForeignKeyConstraint(['position_id'], ['positions.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('outreach_drafts', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_outreach_drafts_candidate_id'), ['candidate_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_outreach_drafts_email_id'), ['email_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_outreach_drafts_status'), ['status'], unique=False)

    op.create_table('referrals',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('code', sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
    sa.Column('referrer_slack_id', sqlmodel.sql.sqltypes.AutoString(length=20), nullable=False),
    sa.Column('candidate_id', sa.Integer(), nullable=False),
    sa.Column('position_id', sa.Integer(), nullable=True),
    sa.Column('relationship', sqlmodel.sql.sqltypes.AutoString(length=100), nullable=False),
    sa.Column('note', sqlmodel.sql.sqltypes.AutoString(length=3000), nullable=False),
    sa.Column('status', sqlmodel.sql.sqltypes.AutoString(length=20), nullable=False),
    sa.Column('attributed', sa.Boolean(), nullable=False),
    sa.Column('candidate_was_known', sa.Boolean(), nullable=False),
    sa.Column('submission_key', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=True),
    sa.Column('payout_status', sqlmodel.sql.sqltypes.AutoString(length=20), nullable=False),
    sa.Column('payout_amount', sa.Integer(), nullable=True),
    sa.Column('payout_currency', sqlmodel.sql.sqltypes.AutoString(length=3), nullable=True),
    sa.Column('payout_due_at', storage.types.UTCDateTime(), nullable=True),
    sa.Column('payout_decided_by_slack_id', sqlmodel.sql.sqltypes.AutoString(length=20), nullable=True),
    sa.Column('payout_decided_at', storage.types.UTCDateTime(), nullable=True),
    sa.Column('created_at', storage.types.UTCDateTime(), nullable=False),
    sa.Column('updated_at', storage.types.UTCDateTime(), nullable=False),
    sa.ForeignKeyConstraint(['candidate_id'], ['candidates.id'], ),
    sa.ForeignKeyConstraint(['position_id'], ['positions.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('code'),
    sa.UniqueConstraint('submission_key')
    )
    with op.batch_alter_table('referrals', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_referrals_candidate_id'), ['candidate_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_referrals_referrer_slack_id'), ['referrer_slack_id'], unique=False)

    op.create_table('activities',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('candidate_id', sa.Integer(), nullable=True),
    sa.Column('application_id', sa.Integer(), nullable=True),
    sa.Column('position_id', sa.Integer(), nullable=True),
    sa.Column('referral_id', sa.Integer(), nullable=True),
    sa.Column('actor', sqlmodel.sql.sqltypes.AutoString(length=20), nullable=False),
    sa.Column('kind', sqlmodel.sql.sqltypes.AutoString(length=60), nullable=False),
    sa.Column('payload', sa.JSON(), nullable=False),
    sa.Column('occurred_at', storage.types.UTCDateTime(), nullable=False),
    sa.ForeignKeyConstraint(['application_id'], ['applications.id'], ),
    sa.ForeignKeyConstraint(['candidate_id'], ['candidates.id'], ),
    sa.ForeignKeyConstraint(['position_id'], ['positions.id'], ),
    sa.ForeignKeyConstraint(['referral_id'], ['referrals.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('activities', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_activities_application_id'), ['application_id'], unique=False)
        batch_op.create_index('ix_activities_candidate_time', ['candidate_id', 'occurred_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_activities_kind'), ['kind'], unique=False)
        batch_op.create_index(batch_op.f('ix_activities_occurred_at'), ['occurred_at'], unique=False)

    op.create_table('engagement_events',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('candidate_id', sa.Integer(), nullable=False),
    sa.Column('send_id', sa.Integer(), nullable=True),
    sa.Column('kind', sqlmodel.sql.sqltypes.AutoString(length=10), nullable=False),
    sa.Column('url', sqlmodel.sql.sqltypes.AutoString(length=2000), nullable=True),
    sa.Column('points', sa.Integer(), nullable=False),
    sa.Column('occurred_at', storage.types.UTCDateTime(), nullable=False),
    sa.ForeignKeyConstraint(['candidate_id'], ['candidates.id'], ),
    sa.ForeignKeyConstraint(['send_id'], ['nurture_sends.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('engagement_events', schema=None) as batch_op:
        batch_op.create_index('ix_engagement_events_candidate_time', ['candidate_id', 'occurred_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_engagement_events_send_id'), ['send_id'], unique=False)

    op.create_table('interviews',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('application_id', sa.Integer(), nullable=False),
    sa.Column('candidate_id', sa.Integer(), nullable=False),
    sa.Column('starts_at', storage.types.UTCDateTime(), nullable=False),
    sa.Column('duration_minutes', sa.Integer(), nullable=False),
    sa.Column('interviewer_slack_ids', sa.JSON(), nullable=False),
    sa.Column('location', sqlmodel.sql.sqltypes.AutoString(length=300), nullable=True),
    sa.Column('ical_uid', sqlmodel.sql.sqltypes.AutoString(length=120), nullable=False),
    sa.Column('status', sqlmodel.sql.sqltypes.AutoString(length=20), nullable=False),
    sa.Column('scheduled_by_slack_id', sqlmodel.sql.sqltypes.AutoString(length=20), nullable=False),
    sa.Column('created_at', storage.types.UTCDateTime(), nullable=False),
    sa.Column('sequence', sa.Integer(), nullable=False),
    sa.Column('timezone', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('updated_at', storage.types.UTCDateTime(), nullable=True),
    sa.ForeignKeyConstraint(['application_id'], ['applications.id'], ),
    sa.ForeignKeyConstraint(['candidate_id'], ['candidates.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('ical_uid')
    )
    with op.batch_alter_table('interviews', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_interviews_application_id'), ['application_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_interviews_candidate_id'), ['candidate_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_interviews_starts_at'), ['starts_at'], unique=False)

    op.create_table('scorecards',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('interview_id', sa.Integer(), nullable=False),
    sa.Column('candidate_id', sa.Integer(), nullable=False),
    sa.Column('interviewer_slack_id', sqlmodel.sql.sqltypes.AutoString(length=20), nullable=False),
    sa.Column('ratings', sa.JSON(), nullable=False),
    sa.Column('recommendation', sqlmodel.sql.sqltypes.AutoString(length=20), nullable=False),
    sa.Column('notes', sqlmodel.sql.sqltypes.AutoString(length=3000), nullable=False),
    sa.Column('submitted_at', storage.types.UTCDateTime(), nullable=False),
    sa.ForeignKeyConstraint(['candidate_id'], ['candidates.id'], ),
    sa.ForeignKeyConstraint(['interview_id'], ['interviews.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('interview_id', 'interviewer_slack_id', name='uq_scorecards_interviewer')
    )
    with op.batch_alter_table('scorecards', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_scorecards_candidate_id'), ['candidate_id'], unique=False)

    op.create_table('tasks',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('candidate_id', sa.Integer(), nullable=True),
    sa.Column('application_id', sa.Integer(), nullable=True),
    sa.Column('interview_id', sa.Integer(), nullable=True),
    sa.Column('kind', sqlmodel.sql.sqltypes.AutoString(length=20), nullable=False),
    sa.Column('title', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
    sa.Column('group_key', sqlmodel.sql.sqltypes.AutoString(length=80), nullable=True),
    sa.Column('stage', sqlmodel.sql.sqltypes.AutoString(length=60), nullable=True),
    sa.Column('assignee_slack_id', sqlmodel.sql.sqltypes.AutoString(length=20), nullable=False),
    sa.Column('mandatory', sa.Boolean(), nullable=False),
    sa.Column('status', sqlmodel.sql.sqltypes.AutoString(length=20), nullable=False),
    sa.Column('due_at', storage.types.UTCDateTime(), nullable=False),
    sa.Column('snoozed_until', storage.types.UTCDateTime(), nullable=True),
    sa.Column('reminded_for_due_at', storage.types.UTCDateTime(), nullable=True),
    sa.Column('overdue_notified_for_due_at', storage.types.UTCDateTime(), nullable=True),
    sa.Column('escalated_at', storage.types.UTCDateTime(), nullable=True),
    sa.Column('created_by_slack_id', sqlmodel.sql.sqltypes.AutoString(length=20), nullable=True),
    sa.Column('created_at', storage.types.UTCDateTime(), nullable=False),
    sa.Column('completed_at', storage.types.UTCDateTime(), nullable=True),
    sa.Column('completed_by_slack_id', sqlmodel.sql.sqltypes.AutoString(length=20), nullable=True),
    sa.ForeignKeyConstraint(['application_id'], ['applications.id'], ),
    sa.ForeignKeyConstraint(['candidate_id'], ['candidates.id'], ),
    sa.ForeignKeyConstraint(['interview_id'], ['interviews.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('tasks', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_tasks_application_id'), ['application_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_tasks_assignee_slack_id'), ['assignee_slack_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_tasks_candidate_id'), ['candidate_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_tasks_group_key'), ['group_key'], unique=False)
        batch_op.create_index(batch_op.f('ix_tasks_interview_id'), ['interview_id'], unique=False)
        batch_op.create_index('ix_tasks_status_due', ['status', 'due_at'], unique=False)



def downgrade() -> None:
    with op.batch_alter_table('tasks', schema=None) as batch_op:
        batch_op.drop_index('ix_tasks_status_due')
        batch_op.drop_index(batch_op.f('ix_tasks_interview_id'))
        batch_op.drop_index(batch_op.f('ix_tasks_group_key'))
        batch_op.drop_index(batch_op.f('ix_tasks_candidate_id'))
        batch_op.drop_index(batch_op.f('ix_tasks_assignee_slack_id'))
        batch_op.drop_index(batch_op.f('ix_tasks_application_id'))

    op.drop_table('tasks')
    with op.batch_alter_table('scorecards', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_scorecards_candidate_id'))

    op.drop_table('scorecards')
    with op.batch_alter_table('interviews', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_interviews_starts_at'))
        batch_op.drop_index(batch_op.f('ix_interviews_candidate_id'))
        batch_op.drop_index(batch_op.f('ix_interviews_application_id'))

    op.drop_table('interviews')
    with op.batch_alter_table('engagement_events', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_engagement_events_send_id'))
        batch_op.drop_index('ix_engagement_events_candidate_time')

    op.drop_table('engagement_events')
    with op.batch_alter_table('activities', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_activities_occurred_at'))
        batch_op.drop_index(batch_op.f('ix_activities_kind'))
        batch_op.drop_index('ix_activities_candidate_time')
        batch_op.drop_index(batch_op.f('ix_activities_application_id'))

    op.drop_table('activities')
    with op.batch_alter_table('referrals', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_referrals_referrer_slack_id'))
        batch_op.drop_index(batch_op.f('ix_referrals_candidate_id'))

    op.drop_table('referrals')
    with op.batch_alter_table('outreach_drafts', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_outreach_drafts_status'))
        batch_op.drop_index(batch_op.f('ix_outreach_drafts_email_id'))
        batch_op.drop_index(batch_op.f('ix_outreach_drafts_candidate_id'))

    op.drop_table('outreach_drafts')
    with op.batch_alter_table('nurture_sends', schema=None) as batch_op:
        batch_op.drop_index('ix_nurture_sends_sequence')
        batch_op.drop_index(batch_op.f('ix_nurture_sends_email_id'))
        batch_op.drop_index(batch_op.f('ix_nurture_sends_candidate_id'))

    op.drop_table('nurture_sends')
    with op.batch_alter_table('applications', schema=None) as batch_op:
        batch_op.drop_index('ix_applications_status_stage')
        batch_op.drop_index('ix_applications_status_last_activity')
        batch_op.drop_index(batch_op.f('ix_applications_position_id'))
        batch_op.drop_index(batch_op.f('ix_applications_candidate_id'))

    op.drop_table('applications')
    with op.batch_alter_table('positions', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_positions_status'))
        batch_op.drop_index(batch_op.f('ix_positions_hiring_manager_slack_id'))

    op.drop_table('positions')
    with op.batch_alter_table('nurture_enrollments', schema=None) as batch_op:
        batch_op.drop_index('ix_nurture_enrollments_status_due')
        batch_op.drop_index(batch_op.f('ix_nurture_enrollments_candidate_id'))

    op.drop_table('nurture_enrollments')
    with op.batch_alter_table('emails', schema=None) as batch_op:
        batch_op.drop_index('ix_emails_status_next')
        batch_op.drop_index(batch_op.f('ix_emails_candidate_id'))

    op.drop_table('emails')
    with op.batch_alter_table('consents', schema=None) as batch_op:
        batch_op.drop_index('ix_consents_candidate_kind')

    op.drop_table('consents')
    op.drop_table('candidate_search')
    with op.batch_alter_table('candidate_engagement', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_candidate_engagement_score'))

    op.drop_table('candidate_engagement')
    with op.batch_alter_table('webhooks', schema=None) as batch_op:
        batch_op.drop_index('ix_webhooks_status_next')

    op.drop_table('webhooks')
    with op.batch_alter_table('processed_requests', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_processed_requests_processed_at'))

    op.drop_table('processed_requests')
    with op.batch_alter_table('outbox', schema=None) as batch_op:
        batch_op.drop_index('ix_outbox_status_next')

    op.drop_table('outbox')
    with op.batch_alter_table('inbound_jobs', schema=None) as batch_op:
        batch_op.drop_index('ix_inbound_jobs_status_next')

    op.drop_table('inbound_jobs')
    with op.batch_alter_table('candidates', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_candidates_status'))
        batch_op.drop_index(batch_op.f('ix_candidates_profile_url_key'))
        batch_op.drop_index(batch_op.f('ix_candidates_owner_slack_id'))
        batch_op.drop_index(batch_op.f('ix_candidates_name_key'))

    op.drop_table('candidates')
