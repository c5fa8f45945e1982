"""Open311 and more: the category `public` flag, API key use and revocation times, what an Open311
client sent with each request (open311_submission, backfilled from the audit trail), and the
user's language preference ("auto" until chosen).

Revision ID: 0009_open311_more
Revises: 0006_lookup_indexes
Create Date: 2026-11-24
"""
import sqlalchemy as sa
from alembic import op

import civicgrid.db

revision = "0009_open311_more"
down_revision = "0006_lookup_indexes"
branch_labels = None
depends_on = None

# Field limits of the Open311 extras (open311/service.py TEXT_LIMITS); longer audit values are cut.
LIMITS = {"email": 254, "media_url": 2000, "device_id": 100, "account_id": 100}


def upgrade() -> None:
    # Every category an existing installation has was offered through Open311 until now: keep it
    # so (an administrator withdraws categories on /admin/categories). New categories start private.
    op.add_column("category", sa.Column("public", sa.Boolean(), nullable=False, server_default=sa.false()))
    op.execute(sa.text("UPDATE category SET public = :yes").bindparams(yes=True))

    op.add_column("api_key", sa.Column("last_used_at", civicgrid.db.UTCDateTime(), nullable=True))
    op.add_column("api_key", sa.Column("revoked_at", civicgrid.db.UTCDateTime(), nullable=True))

    # Nobody ever chose a language (the column was unused and defaulted to zh): follow the browser.
    op.execute(sa.text("UPDATE app_user SET lang = 'auto' WHERE lang = 'zh'"))

    submission = op.create_table(
        "open311_submission",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), autoincrement=True, nullable=False),
        sa.Column("case_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("api_key_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True),
        sa.Column("client_address", sa.String(length=64), nullable=False),
        sa.Column("first_name", sa.String(length=50), nullable=True),
        sa.Column("last_name", sa.String(length=50), nullable=True),
        sa.Column("phone", sa.String(length=30), nullable=True),
        sa.Column("email", sa.String(length=254), nullable=True),
        sa.Column("media_url", sa.String(length=2000), nullable=True),
        sa.Column("device_id", sa.String(length=100), nullable=True),
        sa.Column("account_id", sa.String(length=100), nullable=True),
        sa.Column("at", civicgrid.db.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(["api_key_id"], ["api_key.id"], name=op.f("fk_open311_submission_api_key_id_api_key")),
        sa.ForeignKeyConstraint(["case_id"], ["case.id"], name=op.f("fk_open311_submission_case_id_case")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_open311_submission")),
        sa.UniqueConstraint("case_id", name=op.f("uq_open311_submission_case_id")),
    )
    op.create_index("ix_open311_submission_key_at", "open311_submission", ["api_key_id", "at"])
    op.create_index("ix_open311_submission_address_at", "open311_submission", ["client_address", "at"])
    _backfill(submission)


def _backfill(submission: sa.Table) -> None:
    """Requests filed before this revision kept their extras in the `open311_request` audit entry."""
    conn = op.get_bind()
    audit = sa.table("audit_entry", sa.column("entity", sa.String), sa.column("entity_id", sa.String),
                     sa.column("action", sa.String), sa.column("after", sa.JSON),
                     sa.column("at", civicgrid.db.UTCDateTime()), sa.column("id", sa.Integer))
    case = sa.table("case", sa.column("id", sa.Integer))
    entries = conn.execute(sa.select(audit.c.entity_id, audit.c.after, audit.c.at).where(
        audit.c.entity == "case", audit.c.action == "open311_request").order_by(audit.c.id)).all()
    wanted = {int(e[0]) for e in entries if e[0].isdigit() and len(e[0]) <= 18}
    if not wanted:
        return
    cases = set()
    ordered = sorted(wanted)
    for i in range(0, len(ordered), 500):
        cases.update(conn.execute(sa.select(case.c.id).where(case.c.id.in_(ordered[i:i + 500]))).scalars())
    keys = set(conn.execute(sa.text("SELECT id FROM api_key")).scalars())
    rows, seen = [], set()
    for entity_id, after, at in entries:
        if not entity_id.isdigit() or int(entity_id) not in cases or int(entity_id) in seen:
            continue
        after = after or {}
        seen.add(int(entity_id))
        rows.append({
            "case_id": int(entity_id),
            "api_key_id": after.get("api_key_id") if after.get("api_key_id") in keys else None,
            "client_address": "",
            **{field: (str(after[field])[:limit] if after.get(field) else None) for field, limit in LIMITS.items()},
            "at": at,
        })
        if len(rows) >= 1000:
            conn.execute(submission.insert(), rows)
            rows = []
    if rows:
        conn.execute(submission.insert(), rows)


def downgrade() -> None:
    # The audit entries still hold what the backfill read; nothing is lost going down.
    op.drop_index("ix_open311_submission_address_at", table_name="open311_submission")
    op.drop_index("ix_open311_submission_key_at", table_name="open311_submission")
    op.drop_table("open311_submission")
    op.execute(sa.text("UPDATE app_user SET lang = 'zh' WHERE lang NOT IN ('zh', 'en')"))
    # Plain ALTER TABLE … DROP COLUMN (SQLite ≥ 3.35): rebuilding these tables would trip the
    # foreign keys that point at them on a populated database.
    op.drop_column("api_key", "revoked_at")
    op.drop_column("api_key", "last_used_at")
    op.drop_column("category", "public")
