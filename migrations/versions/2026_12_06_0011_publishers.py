"""Publishers (issue 19): the archive holds several agencies' articles, keyed by publisher.

Adds articles.publisher (with a unique (publisher, article_id) and an index of a publisher's due
revisits) and captures.publisher, the plug-in whose site was fetched. Every row of an archive
made before holds Newsis's pages, the only publisher then: it is filled in as "newsis".

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-06 13:00:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0011"
down_revision: str | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# The only publisher an archive before this revision held.
EARLIER_PUBLISHER = "newsis"


def upgrade() -> None:
    for table in ("articles", "captures"):
        with op.batch_alter_table(table) as batch:
            batch.add_column(sa.Column("publisher", sa.String(40), nullable=True))
        op.execute(
            sa.table(table, sa.column("publisher"))
            .update()
            .values(publisher=EARLIER_PUBLISHER)
        )
        with op.batch_alter_table(table) as batch:
            batch.alter_column("publisher", existing_type=sa.String(40), nullable=False)
    with op.batch_alter_table("articles") as batch:
        batch.create_unique_constraint(
            "uq_articles_publisher_article_id", ["publisher", "article_id"]
        )
        batch.create_index(
            "ix_articles_publisher_next_check_at", ["publisher", "next_check_at"]
        )


def downgrade() -> None:
    with op.batch_alter_table("articles") as batch:
        batch.drop_index("ix_articles_publisher_next_check_at")
        batch.drop_constraint("uq_articles_publisher_article_id", type_="unique")
        batch.drop_column("publisher")
    with op.batch_alter_table("captures") as batch:
        batch.drop_column("publisher")
