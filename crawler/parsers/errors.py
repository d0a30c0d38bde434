"""The parsers' own errors: a page that gives no record raises one, with a short reason."""

from __future__ import annotations


class ParseError(Exception):
    """The page could not be turned into a record. `reason` is one short line."""

    def __init__(self, reason: str) -> None:
        self.reason = " ".join(str(reason).split())[:200] or "unknown"
        super().__init__(self.reason)


class NotAnArticle(ParseError):
    """The page is not an article: error page, empty/binary/truncated body, or a missing field."""
