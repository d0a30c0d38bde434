"""The local site's article model: sections, reporters, photos, the article and its record."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta, timezone
from typing import Any

KST = timezone(timedelta(hours=9))
REAL_BASE = "https://www.newsis.com"
# Each publisher's real origin: the links its pages, feeds and sitemaps publish name it.
REAL_BASES = {"newsis": REAL_BASE, "yonhap": "https://www.yna.co.kr"}
# Publishers whose pages show times to the minute (Yonhap: `송고2026-07-16 14:32`): their
# articles' times carry no seconds, or no parser could give the record the model expects.
MINUTE_TIMES = frozenset({"yonhap"})

# The 10-digit serial was reset once, around June 2017 (STRUCTURE.md § Identifiers).
SERIAL_RESET_AT = datetime(2017, 6, 1, tzinfo=KST)
SERIAL_EPOCH = datetime(2010, 1, 1, tzinfo=KST)
# Pages older than this are served in the older design (STRUCTURE.md: "– about 2022").
CURRENT_DESIGN_SINCE = datetime(2023, 1, 1, tzinfo=KST)
# Datelines with full-width brackets before mid-2017: 【서울=뉴시스】.
FULLWIDTH_BRACKETS_BEFORE = SERIAL_RESET_AT


@dataclass(frozen=True, slots=True)
class Section:
    path: str  # 2026 path, e.g. "/society/"
    cid: str
    label: str
    old_path: str | None  # the older site's path, when it had one


# STRUCTURE.md § Sections, plus the photo desk that NISI items belong to (examples/photo-item.html).
SECTIONS = (
    Section("/politic/", "10300", "정치", "/pol/"),
    Section("/world/", "10100", "국제", "/int/"),
    Section("/economy/", "10400", "경제", "/eco/"),
    Section("/money/", "15000", "금융", None),
    Section("/business/", "13000", "산업", "/inds/"),
    Section("/health/", "13100", "IT·바이오", None),
    Section("/society/", "10200", "사회", "/soci/"),
    Section("/metro/", "14000", "수도권", None),
    Section("/region/", "10800", "지방", "/whol/"),
    Section("/culture/", "10700", "문화", "/cul/"),
    Section("/sports/", "10500", "스포츠", "/spo/"),
    Section("/entertainment/", "10600", "연예", "/ent/"),
)
PHOTO_SECTION = Section("/photo/", "10000", "포토", "/pho/")
ALL_SECTIONS = (*SECTIONS, PHOTO_SECTION)
SECTION_BY_CID = {section.cid: section for section in ALL_SECTIONS}


@dataclass(frozen=True, slots=True)
class Reporter:
    name: str
    title: str
    email: str


@dataclass(frozen=True, slots=True)
class Photo:
    """One photo block; `caption_kind` picks how its caption is written (STRUCTURE.md § Text)."""

    image_id: str  # NISI…
    rnd: str  # 14-digit upload stamp, the ?rnd= value
    url_form: str  # "https", "http" or "//" (protocol-relative)
    host: str  # image.newsis.com or img1.newsis.com
    caption_kind: str  # staff, handout, handout_plain, newsisdb, pool, agency
    place: str
    bracket_space: bool  # "[서울=뉴시스] …" vs "[서울=뉴시스]…"
    text: str
    photographer: str | None = None  # staff captions: the name(s)
    photographer_title: str = "기자"
    agency: str | None = None
    org: str | None = None  # handout: who gave the photo
    photo_date: date | None = None
    email: str | None = None
    restricted: bool = False
    fullwidth: bool = False  # 【서울=뉴시스】

    @property
    def path(self) -> str:
        day = self.image_id[4:12]
        return f"/{day[:4]}/{day[4:6]}/{day[6:8]}/{self.image_id}_web.jpg"

    @property
    def src(self) -> str:
        prefix = {"https": "https:", "http": "http:", "//": ""}[self.url_form]
        return f"{prefix}//{self.host}{self.path}?rnd={self.rnd}"

    @property
    def thumbnail(self) -> str:
        return f"//{self.host}{self.path.replace('_web.jpg', '_thm.jpg')}"

    @property
    def record_url(self) -> str:
        # RECORD.md § Captions: absolute, https:, no query string.
        return f"https://{self.host}{self.path}"

    def caption_line(self) -> str:
        """The caption as written under the photo (plain text; the page escapes it)."""
        left, right = ("【", "】") if self.fullwidth else ("[", "]")
        where = (
            f"{self.place}={self.agency}/뉴시스"
            if self.caption_kind == "agency"
            else f"{self.place}=뉴시스"
        )
        parts = [f"{left}{where}{right}" + (" " if self.bracket_space else "")]
        if self.caption_kind == "staff":
            parts.append(f"{self.photographer} {self.photographer_title} = ")
        parts.append(self.text)
        if self.caption_kind == "handout":
            parts.append(f" (사진={self.org} 제공)")
        elif self.caption_kind == "handout_plain":
            parts.append(f" (사진 = {self.org})")
        elif self.caption_kind == "newsisdb":
            parts.append(" (사진=뉴시스DB)")
        elif self.caption_kind == "pool":
            parts.append(" (공동취재사진)")
        if self.photo_date:
            parts.append(f" {self.photo_date:%Y.%m.%d}.")
        if self.email:
            parts.append(f" {self.email}")
        if self.restricted:
            # examples/seed-l3.html: no-break spaces before the restriction mark.
            parts.append("\u00a0\u00a0 *재판매 및 DB 금지")
        return "".join(parts)

    def expected_caption(self) -> dict[str, Any]:
        credit = None
        if self.caption_kind in ("handout", "handout_plain"):
            credit = self.org
        elif self.caption_kind == "newsisdb":
            credit = "뉴시스DB"
        elif self.caption_kind == "pool":
            credit = "공동취재사진"
        elif self.caption_kind == "agency":
            credit = self.agency
        return {
            "image_url": self.record_url,
            "text": self.text,
            "dateline": self.place,
            "photographer": self.photographer if self.caption_kind == "staff" else None,
            "credit": credit,
            "photo_date": self.photo_date.isoformat() if self.photo_date else None,
            "email": self.email,
            "restriction": "재판매 및 DB 금지" if self.restricted else None,
        }


@dataclass(frozen=True, slots=True)
class SiteArticle:
    """One article of the local site, in one version. Edits make a new instance (`version` + 1)."""

    article_id: str
    section: Section
    design: str  # "current" or "older"
    headline: str
    subheadlines: tuple[str, ...]
    places: tuple[str, ...]  # the lead's dateline places: ("서울",) or ("서울", "횡성")
    reporters: tuple[Reporter, ...]
    photos: tuple[Photo, ...]
    body: tuple[str, ...]
    published_at: datetime
    modified_at: datetime | None = None
    deleted: bool = False
    gone: str | None = None  # how this deleted article answers, when not the site's way
    sitemap_only: bool = False  # listed in the sitemaps, in no feed and no list page
    closing_email: str | None = None  # the ◎공감언론 뉴시스 line's address
    style: int = 0  # picks the page's renderings (time labels, spacing, markup) deterministically
    version: int = 1
    changed_at: datetime | None = None  # last change of the page, for Last-Modified
    edits: int = 0
    publisher: str = "newsis"  # whose site serves it: newsis or yonhap

    @property
    def is_photo_item(self) -> bool:
        return self.article_id.startswith(("NISI", "PYH"))

    @property
    def url(self) -> str:
        return f"{REAL_BASES[self.publisher]}/view/{self.article_id}"

    def stamp(self, moment: datetime) -> datetime:
        """A time as the article's page can show it (no seconds on Yonhap's)."""
        return moment.replace(second=0) if self.publisher in MINUTE_TIMES else moment

    @property
    def dateline(self) -> str | None:
        return "·".join(self.places) if self.places else None

    @property
    def fullwidth(self) -> bool:
        return self.published_at < FULLWIDTH_BRACKETS_BEFORE

    @property
    def last_modified(self) -> datetime:
        return self.changed_at or self.modified_at or self.published_at

    def lead_prefix(self) -> str:
        """`[서울=뉴시스]이현주 기자 = ` / `【서울=뉴시스】…` / `[세종=뉴시스] ` (no names)."""
        if not self.places:
            return ""
        left, right = ("【", "】") if self.fullwidth else ("[", "]")
        space = " " if self.style % 3 == 1 else ""
        prefix = f"{left}{self.dateline}=뉴시스{right}{space}"
        if self.reporters:
            names = " ".join(reporter.name for reporter in self.reporters)
            prefix += f"{names} {self.reporters[0].title} = "
        elif not space:
            prefix += " "
        return prefix

    def lead_text(self) -> str:
        """The first paragraph as the page shows it, the lead prefix included."""
        return self.lead_prefix() + (self.body[0] if self.body else "")

    def byline(self) -> str:
        """`이현주 기자` as in RSS dc:creator."""
        if not self.reporters:
            return "뉴시스"
        return f"{self.reporters[0].name} {self.reporters[0].title}"


def expected_record(article: SiteArticle) -> dict[str, Any]:
    """The RECORD.md JSON the parser must produce for the article (no parser_version/hash)."""
    reporters = []
    for position, reporter in enumerate(article.reporters):
        email = article.closing_email if position == 0 else None
        reporters.append({"name": reporter.name, "title": reporter.title, "email": email})
    return {
        "source": article.publisher,
        "article_id": article.article_id,
        "url": article.url,
        "section": article.section.label,
        "headline": article.headline,
        "subheadlines": list(article.subheadlines),
        "published_at": article.published_at.isoformat(),
        "modified_at": article.modified_at.isoformat() if article.modified_at else None,
        "dateline": article.dateline,
        "reporters": reporters,
        "captions": [photo.expected_caption() for photo in article.photos],
        "body": [] if article.is_photo_item else list(article.body),
    }

