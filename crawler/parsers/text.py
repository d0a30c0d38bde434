"""Korean text helpers for Newsis pages: cleaning, dateline/byline/caption patterns, KST times."""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from datetime import date, datetime, timedelta, timezone

KST = timezone(timedelta(hours=9), "KST")

# Zero-width characters (and C0/C1 controls lxml may still hand over from a text node) vanish;
# RECORD.md § Text. Every other Unicode space is whitespace to str.split().
_DROP = dict.fromkeys(
    [0x200B, 0x200C, 0x200D, 0x2060, 0xFEFF, 0x00AD]
    + [c for c in range(0x20) if chr(c) not in "\t\n\r\x0b\x0c"]
    + [0x7F]
    # C1 controls (U+0080–U+009F) are never text: they appear when cp1252 bytes are misread.
    + list(range(0x80, 0xA0))
)


def clean_text(value: str | None) -> str:
    """RECORD.md § Text: NFC, Unicode spaces → space, zero-width dropped, collapsed.

    Entities are not decoded here: every string comes from lxml, whose parser (libxml2 ≥ 2.14,
    an HTML5 tokenizer) has already decoded them once, as a browser does. A second pass would
    show a page's `&amp;lt;` as `<` where the reader sees `&lt;`. Cleaning twice changes nothing.
    """
    if not value:
        return ""
    value = value.translate(_DROP)
    if not value.isascii() and not unicodedata.is_normalized("NFC", value):
        value = unicodedata.normalize("NFC", value)
    # str.split() splits on every Unicode space (nbsp, U+3000, U+2000–U+200A …).
    return " ".join(value.split())


# Reporter titles, longest first so `인턴기자` is not read as name `…인턴` + `기자`.
TITLES = (
    "인턴기자", "수습기자", "객원기자", "선임기자", "전문기자", "기자", "특파원", "리포터", "통신원"
)
_TITLE = "|".join(TITLES)

# The dateline bracket, half- or full-width, with an optional foreign agency:
# `[서울=뉴시스]`, `【서울=뉴시스】`, `[서울·횡성=뉴시스]`, `[워싱턴=AP/뉴시스]`.
_DATELINE = (
    r"[\[【]\s*(?P<place>[^=\[\]【】/]{1,30}?)\s*=\s*"
    r"(?:(?P<agency>[^=\[\]【】/]{1,20}?)\s*/\s*)?뉴시스\s*[\]】]\s*"
)
# Names before the title: `이현주 기자 =`, `정금민 한재혁 김윤영 기자 =`,
# `김다연 인턴기자 =`, `이현주기자=`.
_BYLINE = (
    r"(?P<names>[가-힣A-Za-z]{2,10}(?:[ ][가-힣A-Za-z]{2,10}){0,7}?)\s*"
    rf"(?P<title>{_TITLE})\s*=\s*"
)

# Lead prefix of an article: `[서울=뉴시스]이현주 기자 = 한국과 …`, `【서울=뉴시스】김종민 기자 =`,
# `[서울=뉴시스] 한국은행은 …` (dateline without names).
LEAD_RE = re.compile(rf"^\s*{_DATELINE}(?:{_BYLINE})?")

# The closing line: `◎공감언론 뉴시스 lovelypsyche@newsis.com`.
CLOSING_RE = re.compile(r"\s*◎\s*공감언론\s*뉴시스\s*(?P<email>[\w.+-]+@[\w-]+(?:\.[\w-]+)+)?\s*$")

# The photo desk's footer on photo items: `[사진 영상 제보받습니다] 공감언론 뉴시스가 …`.
PHOTO_DESK_RE = re.compile(r"^\s*\[\s*사진\s*영상\s*제보받습니다\s*\]")

# Caption credit: `(사진=농협유통 제공)`, `(사진 = 엔비디아)`, `(사진=뉴시스DB)`, `(공동취재사진)`.
CREDIT_RE = re.compile(r"\(\s*(?:사진\s*=\s*(?P<credit>[^()]{1,60}?)|(?P<pool>공동취재사진))\s*\)")
# `*재판매 및 DB 금지` at the end of a handout caption.
RESTRICTION_RE = re.compile(r"\s*\*\s*(?P<restriction>재판매\s*및\s*DB\s*금지)\s*$")
# `… park7691@newsis.com` at the end of a caption.
TRAILING_EMAIL_RE = re.compile(r"\s*(?P<email>[\w.+-]+@[\w-]+(?:\.[\w-]+)+)\s*$")
# The photo's date stamp before the email: `… 있다. 2019.03.04.`.
PHOTO_DATE_RE = re.compile(r"\s*(?P<y>\d{4})\.\s?(?P<m>\d{1,2})\.\s?(?P<d>\d{1,2})\.?\s*$")

# Page times: `등록 2024.11.15 06:30:00`, `기사등록 2024/11/15 06:30:00`, `입력 2019-03-04 17:21`,
# `수정 2024.11.15 06:34:16`, `최종수정 2024/11/15 06:34:16`.
TIME_RE = re.compile(
    r"(?P<label>기사등록|최종수정|등록|수정|입력)\s*:?\s*"
    r"(?P<y>\d{4})\s*[./-]\s*(?P<m>\d{1,2})\s*[./-]\s*(?P<d>\d{1,2})\.?\s+"
    r"(?P<H>\d{1,2}):(?P<M>\d{2})(?::(?P<S>\d{2}))?"
)
_PUBLISHED_LABELS = frozenset({"기사등록", "등록", "입력"})


@dataclass(frozen=True, slots=True)
class Lead:
    """What the lead prefix says, and the paragraph without it."""

    dateline: str | None
    names: tuple[str, ...]
    title: str | None
    rest: str


def split_lead(paragraph: str) -> Lead:
    """Cut `[서울=뉴시스]이현주 기자 = ` off the first paragraph (bounded: the prefix is short)."""
    match = LEAD_RE.match(paragraph[:300])
    if not match:
        return Lead(None, (), None, paragraph)
    names = tuple(match.group("names").split()) if match.group("names") else ()
    return Lead(
        dateline=clean_text(match.group("place")) or None,
        names=names,
        title=match.group("title"),
        rest=paragraph[match.end():].strip(),
    )


def split_closing(paragraph: str) -> tuple[str, str | None, bool]:
    """(paragraph without a closing `◎공감언론 뉴시스 EMAIL`, that email, whether one was there)."""
    if "◎" not in paragraph:
        return paragraph, None, False
    match = CLOSING_RE.search(paragraph)
    if not match:
        return paragraph, None, False
    return paragraph[: match.start()].strip(), match.group("email"), True


def is_photo_desk_footer(paragraph: str) -> bool:
    return PHOTO_DESK_RE.match(paragraph) is not None


# The copyright line older pages end the text with:
# `<저작권자ⓒ 공감언론 뉴시스통신사. 무단전재-재배포 금지.>`.
COPYRIGHT_RE = re.compile(r"^\s*<?\s*저작권자\s*[ⓒ©(]")


def is_copyright_line(paragraph: str) -> bool:
    return COPYRIGHT_RE.match(paragraph) is not None


@dataclass(frozen=True, slots=True)
class CaptionParts:
    text: str
    dateline: str | None = None
    photographer: str | None = None
    credit: str | None = None
    photo_date: str | None = None
    email: str | None = None
    restriction: str | None = None


def parse_caption(raw: str) -> CaptionParts:
    """Split a cleaned caption into the parts of RECORD.md § Captions."""
    text = clean_text(raw)[:5000]
    dateline = agency = photographer = credit = photo_date = email = restriction = None
    match = LEAD_RE.match(text)
    if match:
        dateline = clean_text(match.group("place")) or None
        agency = clean_text(match.group("agency")) or None
        if match.group("names"):
            photographer = " ".join(match.group("names").split())
        text = text[match.end():]
    found = RESTRICTION_RE.search(text)
    if found:
        restriction = " ".join(found.group("restriction").split())
        text = text[: found.start()]
    found = TRAILING_EMAIL_RE.search(text)
    if found:
        email = found.group("email")
        text = text[: found.start()]
    found = PHOTO_DATE_RE.search(text)
    if found:
        photo_date = _iso_date(found)
        if photo_date:
            text = text[: found.start()]
    found = CREDIT_RE.search(text)
    if found:
        credit = found.group("pool") or _strip_provided(found.group("credit"))
        text = text[: found.start()] + " " + text[found.end():]
    return CaptionParts(
        text=clean_text(text),
        dateline=dateline,
        photographer=photographer,
        credit=credit or agency,
        photo_date=photo_date,
        email=email,
        restriction=restriction,
    )


def _strip_provided(credit: str) -> str | None:
    # `(사진=기획재정부 제공)` credits 기획재정부: 제공 ("provided") is not part of the name.
    credit = clean_text(credit)
    if credit.endswith("제공"):
        credit = credit[: -len("제공")].strip()
    return credit or None


def _iso_date(match: re.Match[str]) -> str | None:
    try:
        return date(int(match["y"]), int(match["m"]), int(match["d"])).isoformat()
    except ValueError:
        return None


def parse_kst_times(text: str) -> tuple[datetime | None, datetime | None]:
    """(registration, modification) time from the page's time line, as KST-aware datetimes."""
    published = modified = None
    for match in TIME_RE.finditer(text[:2000]):
        try:
            when = datetime(
                int(match["y"]), int(match["m"]), int(match["d"]),
                int(match["H"]), int(match["M"]), int(match["S"] or 0), tzinfo=KST,
            )
        except ValueError:
            continue
        if match["label"] in _PUBLISHED_LABELS:
            published = published or when
        else:
            modified = modified or when
    return published, modified


def parse_iso_time(value: str | None) -> datetime | None:
    """`2024-11-15T06:30:00+09:00` (article:published_time) as KST; a naive value is read as KST."""
    if not value:
        return None
    try:
        when = datetime.fromisoformat(value.strip()[:40])
    except ValueError:
        return None
    if when.utcoffset() is None:
        return when.replace(tzinfo=KST)
    return when.astimezone(KST)
