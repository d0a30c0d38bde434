"""Pair deltas: bodies.text_base_hash, the article's earlier body a "zstd-delta-pair" body is
compressed against together with its chrome source, base_hash (storage/bodies/store.py).

Downgrading re-encodes every pair delta as a plain delta against the standalone base of its chrome
source (the same bytes, checked by sha256), so nothing stored is lost; a body that does not decode
to its hash stops the downgrade.

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-28 21:00:00
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence

import sqlalchemy as sa
import zstandard
from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# Shared with storage/models.py and storage/bodies/store.py (migrations do not import storage).
ZSTD = "zstd"
ZSTD_DELTA = "zstd-delta"
ZSTD_DELTA_PAIR = "zstd-delta-pair"
DELTA_ZSTD_LEVEL = 6


def upgrade() -> None:
    with op.batch_alter_table("bodies", schema=None) as batch_op:
        batch_op.add_column(sa.Column("text_base_hash", sa.String(length=64), nullable=True))
        batch_op.create_foreign_key(
            batch_op.f("fk_bodies_text_base_hash_bodies"),
            "bodies",
            ["text_base_hash"],
            ["body_hash"],
        )


def downgrade() -> None:
    _reencode_pair_deltas(op.get_bind())
    with op.batch_alter_table("bodies", schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f("fk_bodies_text_base_hash_bodies"), type_="foreignkey")
        batch_op.drop_column("text_base_hash")


_BODIES = sa.table(
    "bodies",
    sa.column("body_hash", sa.String),
    sa.column("compression", sa.String),
    sa.column("base_hash", sa.String),
    sa.column("text_base_hash", sa.String),
    sa.column("stored_size", sa.Integer),
    sa.column("data", sa.LargeBinary),
)


def _reencode_pair_deltas(connection: sa.Connection) -> None:
    pairs = connection.execute(
        sa.select(_BODIES.c.body_hash).where(_BODIES.c.compression == ZSTD_DELTA_PAIR)
    ).scalars()
    for body_hash in list(pairs):
        row = _row(connection, body_hash)
        chrome = _row(connection, row.base_hash)
        base_hash = chrome.base_hash if chrome.compression == ZSTD_DELTA else chrome.body_hash
        base_raw = _decode(connection, _row(connection, base_hash))
        raw = _decode(connection, row)
        params = zstandard.ZstdCompressionParameters.from_level(
            DELTA_ZSTD_LEVEL, source_size=len(raw), dict_size=len(base_raw)
        )
        dictionary = zstandard.ZstdCompressionDict(
            base_raw, dict_type=zstandard.DICT_TYPE_RAWCONTENT
        )
        data = zstandard.ZstdCompressor(compression_params=params, dict_data=dictionary).compress(
            raw
        )
        connection.execute(
            _BODIES.update()
            .where(_BODIES.c.body_hash == body_hash)
            .values(
                compression=ZSTD_DELTA,
                base_hash=base_hash,
                text_base_hash=None,
                stored_size=len(data),
                data=data,
            )
        )


def _row(connection: sa.Connection, body_hash: str | None):
    row = connection.execute(sa.select(_BODIES).where(_BODIES.c.body_hash == body_hash)).first()
    if row is None:
        raise RuntimeError(f"body {body_hash} is missing: cannot downgrade pair deltas")
    return row


def _decode(connection: sa.Connection, row) -> bytes:
    """The raw bytes of a body (standalone, delta or pair delta), checked against its hash."""
    if row.compression == ZSTD:
        raw = zstandard.ZstdDecompressor().decompress(row.data)
    elif row.compression in (ZSTD_DELTA, ZSTD_DELTA_PAIR):
        content = _decode(connection, _row(connection, row.base_hash))
        if row.compression == ZSTD_DELTA_PAIR:
            content += _decode(connection, _row(connection, row.text_base_hash))
        dictionary = zstandard.ZstdCompressionDict(
            content, dict_type=zstandard.DICT_TYPE_RAWCONTENT
        )
        raw = zstandard.ZstdDecompressor(dict_data=dictionary).decompress(row.data)
    else:
        raise RuntimeError(f"body {row.body_hash}: unknown compression {row.compression!r}")
    if hashlib.sha256(raw).hexdigest() != row.body_hash:
        raise RuntimeError(f"body {row.body_hash} does not match its hash: cannot downgrade")
    return raw
