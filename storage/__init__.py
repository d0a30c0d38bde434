"""The archive: SQLAlchemy models, the write path (ingest, reparse) and the read path (queries)."""
