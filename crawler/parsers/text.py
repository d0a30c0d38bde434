"""Korean text helpers for Newsis pages: cleaning, dateline/byline/caption patterns, KST times."""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from datetime import date, datetime, timedelta, timezone

from crawler.parsers.errors import ParseError

KST = timezone(timedelta(hours=9), "KST")

# Characters a reader cannot see, which would still reach the record (RECORD.md § Text): C0/C1
# controls (C1 only appear when cp1252 bytes are misread), every format character (Cf: zero-width
# spaces and joiners, the bidirectional embeddings, overrides and isolates U+202A–202E,
# U+2066–2069 that reorder what is shown, U+061C, U+FEFF, the soft hyphen, tag characters
# U+E0020–E007F), the Hangul fillers that render as blanks (U+115F, U+1160, U+3164, U+FFA0), the
# combining grapheme joiner and the Khmer inherent vowels. Tab, newline and the other
# separators are whitespace to str.split().
_INVISIBLE_RANGES = (
    (0x00, 0x08), (0x0E, 0x1F), (0x7F, 0x9F), (0xAD, 0xAD), (0x034F, 0x034F),
    (0x0600, 0x0605), (0x061C, 0x061C), (0x06DD, 0x06DD), (0x070F, 0x070F), (0x0890, 0x0891),
    (0x08E2, 0x08E2), (0x115F, 0x1160), (0x17B4, 0x17B5), (0x180E, 0x180E), (0x200B, 0x200F),
    (0x202A, 0x202E), (0x2060, 0x206F), (0x3164, 0x3164), (0xFEFF, 0xFEFF), (0xFFA0, 0xFFA0),
    (0xFFF9, 0xFFFB), (0x110BD, 0x110BD), (0x110CD, 0x110CD), (0x13430, 0x1343F),
    (0x1BCA0, 0x1BCA3), (0x1D173, 0x1D17A), (0xE0000, 0xE007F),
)
_DROP = dict.fromkeys(
    code for first, last in _INVISIBLE_RANGES for code in range(first, last + 1)
)
_DROP_ASCII = {code: None for code in _DROP if code < 0x80}
# Variation selectors only mean something right after a character that has variants (an emoji
# or symbol, a Han ideograph, a keycap digit, a Mongolian letter); anywhere else they are
# invisible padding.
_SELECTOR_RE = re.compile("[\u180b-\u180d\u180f\ufe00-\ufe0f\U000e0100-\U000e01ef]")
_CJK_RANGES = ((0x3400, 0x4DBF), (0x4E00, 0x9FFF), (0xF900, 0xFAFF), (0x20000, 0x3FFFF))


def clean_text(value: str | None) -> str:
    """RECORD.md § Text: NFC, Unicode spaces → space, invisible characters dropped, collapsed.

    Entities are not decoded here: every string comes from lxml, whose parser (libxml2 ≥ 2.14,
    an HTML5 tokenizer) has already decoded them once, as a browser does. A second pass would
    show a page's `&amp;lt;` as `<` where the reader sees `&lt;`. Cleaning twice changes nothing.
    """
    if not value:
        return ""
    if value.isascii():
        value = value.translate(_DROP_ASCII)
    else:
        value = value.translate(_DROP)
        if _SELECTOR_RE.search(value):
            value = _SELECTOR_RE.sub(_kept_selector, value)
        if not unicodedata.is_normalized("NFC", value):
            value = unicodedata.normalize("NFC", value)
    # str.split() splits on every Unicode space (nbsp, U+3000, U+2000–U+200A …).
    return " ".join(value.split())


def _kept_selector(match: re.Match[str]) -> str:
    selector, at = match.group(), match.start()
    if at == 0:
        return ""
    base = match.string[at - 1]
    code = ord(base)
    if selector in "\u180b\u180c\u180d\u180f":
        return selector if 0x1800 <= code <= 0x18AF else ""
    if base in "0123456789#*":
        # A keycap: `1` + U+FE0F + U+20E3.
        return selector if match.string[at + 1 : at + 2] == "\u20e3" else ""
    if unicodedata.category(base) in ("So", "Sm", "Sk") or any(
        first <= code <= last for first, last in _CJK_RANGES
    ):
        return selector
    return ""


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
# `… park7691@newsis.com` at the end of a caption: the domain after the last `@`, and the local
# part read backwards from it (a search for the whole address from every start is quadratic in
# a long run of word characters).
_EMAIL_DOMAIN_RE = re.compile(r"[\w-]+(?:\.[\w-]+)+")
_EMAIL_LOCAL_REVERSED_RE = re.compile(r"[\w.+-]+")
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
    text, email = split_trailing_email(text)
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


def split_trailing_email(text: str) -> tuple[str, str | None]:
    """(text before it, the email address) when `text` ends with one, else (text, None)."""
    text = text.rstrip()
    at = text.rfind("@")
    if at <= 0 or not _EMAIL_DOMAIN_RE.fullmatch(text, at + 1):
        return text, None
    local = _EMAIL_LOCAL_REVERSED_RE.match(text[at - 1 :: -1])
    if local is None:
        return text, None
    start = at - local.end()
    return text[:start], text[start:]


def _strip_provided(credit: str) -> str | None:
    # `(사진=기획재정부 제공)` credits 기획재정부: 제공 ("provided") is not part of the name.
    credit = clean_text(credit)
    if credit.endswith("제공"):
        credit = credit[: -len("제공")].strip()
    return credit or None


def _iso_date(match: re.Match[str]) -> str | None:
    try:
        stamp = date(int(match["y"]), int(match["m"]), int(match["d"]))
    except ValueError:
        return None
    # No date a photo can carry: the stamp stays in the caption's text, as an impossible one does.
    if not EARLIEST_PHOTO_DATE <= stamp <= (datetime.now(KST) + FUTURE_MARGIN).date():
        return None
    return stamp.isoformat()


# Plausible times (RECORD.md § Times). A page's registration and modification times lie between
# 1990 (Newsis dates from 2001; older captures of a page are impossible) and a year after the
# time the parser runs (a clock a few hours off is real; a page from next century is not). A
# photo's date stamp may be older: archive photos reach back to 1900. Anything outside is the
# page's error, never a value that overflows or breaks the archive's columns.
EARLIEST_TIME = datetime(1990, 1, 1, tzinfo=KST)
EARLIEST_PHOTO_DATE = date(1900, 1, 1)
FUTURE_MARGIN = timedelta(days=366)


def plausible_time(when: datetime, what: str) -> datetime:
    """`when` (timezone-aware), or ParseError naming `what` when it is outside the range above."""
    try:
        latest = datetime.now(KST) + FUTURE_MARGIN
        if EARLIEST_TIME <= when <= latest:
            return when.astimezone(KST)
    except (OverflowError, ValueError):
        pass
    raise ParseError(f"{what} out of range: {when.replace(tzinfo=None).isoformat(' ')}")


def parse_kst_times(text: str) -> tuple[datetime | None, datetime | None]:
    """(registration, modification) time from the page's time line, as KST-aware datetimes.

    The first time of each kind counts; one that is no real time (month 13, hour 25, 30
    February) or lies outside the plausible range raises ParseError with the reason.
    """
    published = modified = None
    for match in TIME_RE.finditer(text[:2000]):
        is_published = match["label"] in _PUBLISHED_LABELS
        if (published if is_published else modified) is not None:
            continue
        what = "registration time" if is_published else "modification time"
        try:
            when = datetime(
                int(match["y"]), int(match["m"]), int(match["d"]),
                int(match["H"]), int(match["M"]), int(match["S"] or 0), tzinfo=KST,
            )
        except ValueError:
            raise ParseError(f"{what} is not a real time: {match.group()}") from None
        when = plausible_time(when, what)
        if is_published:
            published = when
        else:
            modified = when
    return published, modified


def parse_iso_time(value: str | None, what: str = "registration time") -> datetime | None:
    """`2024-11-15T06:30:00+09:00` (article:published_time) as KST; a naive value is read as KST.

    None when there is no ISO time; ParseError when there is one outside the plausible range.
    """
    if not value:
        return None
    try:
        when = datetime.fromisoformat(value.strip()[:40])
    except ValueError:
        return None
    if when.utcoffset() is None:
        when = when.replace(tzinfo=KST)
    return plausible_time(when, what)
