"""The parsers' own errors: a page that gives no record raises one, with a short reason."""

from __future__ import annotations

from storage.record import ParseError as ParseError  # storage's: ingest catches it


class NotAnArticle(ParseError):
    """The page is not an article: error page, empty/binary/truncated body, or a missing field."""
