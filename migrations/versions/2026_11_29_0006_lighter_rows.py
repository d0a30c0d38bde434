"""Lighter rows, chiefly on PostgreSQL, where bench/bench_storage.py --postgres measured the
archive at 0.77 of a gzip WARC and a re-fetch at ~1.4 KB (goals: 0.5 and 1 KB):

- `ix_captures_body_hash` goes (both databases): no query looks captures up by body, and its
  random 64-character keys cost ~270 B of every re-fetch on PostgreSQL.
- PostgreSQL only:
  - sha256 digests as 32-byte bytea instead of 64 hex characters (storage.db.HexDigest): bodies
    are mostly keys, and each capture holds two digests;
  - `versions` with fillfactor 50: an unchanged re-fetch moves its version's last_seen_at, and
    with no room on the row's page PostgreSQL wrote the ~2 KB row anew elsewhere and added it to
    every index, the two GIN search indexes included (~1,500 keys); with room, the update is
    HOT: same page, no index touched;
  - the GIN search indexes' pending lists capped at 1 MB (default 4 MB): new entries wait there
    to be merged into the index in bulk, and the pages they used stay in the index, a fixed
    ~8 MB that was most of a small archive (the corpus's indexes were 8-16x what a REINDEX
    gives). Every search reads the pending list too. Without a pending list (fastupdate off)
    the indexes stayed compact but a version took 4x as long to insert at 100,000 versions
    (bench_search.py); at 1 MB, 3,000 article-sized versions went in at 3.0 ms each against
    2.6 (4 MB) and 3.8 (off), with 2.3 KB of index each against 4.4 and 1.7.

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-29 02:30:00
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# Names shared with storage/search/index.py and migration 0004 (migrations do not import storage).
GIN_INDEXES = ("ix_versions_search_text_trgm", "ix_versions_search_bigrams")
GIN_PENDING_LIST_KB = 1024
VERSIONS_FILLFACTOR = 50
# (table, column) of every sha256 digest; the foreign keys among them, by name.
DIGEST_COLUMNS = (
    ("bodies", "body_hash"),
    ("bodies", "base_hash"),
    ("bodies", "text_base_hash"),
    ("captures", "body_hash"),
    ("captures", "content_hash"),
    ("versions", "content_hash"),
)
DIGEST_FOREIGN_KEYS = (
    ("fk_bodies_base_hash_bodies", "bodies", "base_hash"),
    ("fk_bodies_text_base_hash_bodies", "bodies", "text_base_hash"),
    ("fk_captures_body_hash_bodies", "captures", "body_hash"),
)


def upgrade() -> None:
    with op.batch_alter_table("captures", schema=None) as batch_op:
        batch_op.drop_index("ix_captures_body_hash")
    if op.get_bind().dialect.name != "postgresql":
        return
    _convert_digests("bytea", "decode({column}, 'hex')")
    op.execute(f"ALTER TABLE versions SET (fillfactor = {VERSIONS_FILLFACTOR})")
    for index in GIN_INDEXES:
        op.execute(f"ALTER INDEX {index} SET (gin_pending_list_limit = {GIN_PENDING_LIST_KB})")
        op.execute(f"SELECT gin_clean_pending_list('{index}'::regclass)")


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        for index in GIN_INDEXES:
            op.execute(f"ALTER INDEX {index} RESET (gin_pending_list_limit)")
        op.execute("ALTER TABLE versions RESET (fillfactor)")
        _convert_digests("varchar(64)", "encode({column}, 'hex')")
    with op.batch_alter_table("captures", schema=None) as batch_op:
        batch_op.create_index("ix_captures_body_hash", ["body_hash"], unique=False)


def _convert_digests(new_type: str, conversion: str) -> None:
    """Every digest column to `new_type`, values through `conversion` (PostgreSQL): the foreign
    keys between them are dropped first and made again after."""
    for name, table, _ in DIGEST_FOREIGN_KEYS:
        op.execute(f"ALTER TABLE {table} DROP CONSTRAINT {name}")
    for table in dict.fromkeys(table for table, _ in DIGEST_COLUMNS):
        changes = ", ".join(
            f"ALTER COLUMN {column} TYPE {new_type} USING {conversion.format(column=column)}"
            for owner, column in DIGEST_COLUMNS
            if owner == table
        )
        op.execute(f"ALTER TABLE {table} {changes}")
    for name, table, column in DIGEST_FOREIGN_KEYS:
        op.execute(
            f"ALTER TABLE {table} ADD CONSTRAINT {name} FOREIGN KEY ({column})"
            " REFERENCES bodies (body_hash)"
        )
