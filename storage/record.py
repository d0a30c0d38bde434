"""The article record of RECORD.md: frozen dataclasses, their JSON form, and the content hash."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

SOURCE = "newsis"


class ParseError(Exception):
    """The page could not be turned into a record. `reason` is one short line."""

    def __init__(self, reason: str) -> None:
        self.reason = " ".join(str(reason).split())[:200] or "unknown"
        super().__init__(self.reason)

# RECORD.md § Versions: two fetches are the same version when these fields are equal.
# `modified_at`, `published_at`, image `?rnd=` stamps and page chrome are deliberately absent.
CONTENT_FIELDS = (
    "headline",
    "subheadlines",
    "section",
    "dateline",
    "reporters",
    "captions",
    "body",
)


@dataclass(frozen=True, slots=True)
class Reporter:
    name: str
    title: str
    email: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {"name": self.name, "title": self.title, "email": self.email}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Reporter:
        return cls(name=data["name"], title=data["title"], email=data.get("email"))


@dataclass(frozen=True, slots=True)
class Caption:
    image_url: str | None
    text: str
    dateline: str | None = None
    photographer: str | None = None
    credit: str | None = None
    photo_date: str | None = None  # YYYY-MM-DD
    email: str | None = None
    restriction: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "image_url": self.image_url,
            "text": self.text,
            "dateline": self.dateline,
            "photographer": self.photographer,
            "credit": self.credit,
            "photo_date": self.photo_date,
            "email": self.email,
            "restriction": self.restriction,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Caption:
        return cls(**{key: data.get(key) for key in cls.__slots__})


@dataclass(frozen=True, slots=True)
class ArticleRecord:
    """One Newsis article page, cleaned. Times are timezone-aware (KST as the page shows them)."""

    article_id: str
    url: str
    headline: str
    published_at: datetime
    section: str | None = None
    subheadlines: tuple[str, ...] = ()
    modified_at: datetime | None = None
    dateline: str | None = None
    reporters: tuple[Reporter, ...] = ()
    captions: tuple[Caption, ...] = ()
    body: tuple[str, ...] = ()
    parser_version: str = ""
    source: str = field(default=SOURCE)

    def __post_init__(self) -> None:
        # Naive times would silently shift by nine hours once stored as UTC.
        for name in ("published_at", "modified_at"):
            value = getattr(self, name)
            if value is not None and value.utcoffset() is None:
                raise ValueError(f"{name} must be timezone-aware, got {value!r}")

    def content_dict(self) -> dict[str, Any]:
        """The content fields only: what decides whether two fetches are one version."""
        full = self.to_dict(with_hash=False)
        return {name: full[name] for name in CONTENT_FIELDS}

    @property
    def content_hash(self) -> str:
        return content_hash(self.content_dict())

    def to_dict(self, *, with_hash: bool = True) -> dict[str, Any]:
        data: dict[str, Any] = {
            "source": self.source,
            "article_id": self.article_id,
            "url": self.url,
            "section": self.section,
            "headline": self.headline,
            "subheadlines": list(self.subheadlines),
            "published_at": self.published_at.isoformat(),
            "modified_at": self.modified_at.isoformat() if self.modified_at else None,
            "dateline": self.dateline,
            "reporters": [reporter.to_dict() for reporter in self.reporters],
            "captions": [caption.to_dict() for caption in self.captions],
            "body": list(self.body),
            "parser_version": self.parser_version,
        }
        if with_hash:
            data["content_hash"] = content_hash({name: data[name] for name in CONTENT_FIELDS})
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ArticleRecord:
        modified_at = data.get("modified_at")
        return cls(
            source=data.get("source", SOURCE),
            article_id=data["article_id"],
            url=data["url"],
            section=data.get("section"),
            headline=data["headline"],
            subheadlines=tuple(data.get("subheadlines") or ()),
            published_at=datetime.fromisoformat(data["published_at"]),
            modified_at=datetime.fromisoformat(modified_at) if modified_at else None,
            dateline=data.get("dateline"),
            reporters=tuple(Reporter.from_dict(r) for r in data.get("reporters") or ()),
            captions=tuple(Caption.from_dict(c) for c in data.get("captions") or ()),
            body=tuple(data.get("body") or ()),
            parser_version=data.get("parser_version", ""),
        )

    def to_json(self, *, indent: int | None = 2) -> str:
        return json.dumps(self.to_dict(), ensure_ascii=False, indent=indent, sort_keys=True)


def content_hash(content: dict[str, Any]) -> str:
    """sha256 of the canonical JSON of the content fields (sorted keys, no spaces, UTF-8)."""
    canonical = json.dumps(content, ensure_ascii=False, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()
