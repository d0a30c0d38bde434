"""Yonhap photo captions: prefix, photographer, and the e-mail, credit and date they end with."""

from __future__ import annotations

import re
from datetime import date, datetime

from crawler.parsers import text as kt
from crawler.publishers.yonhap.body_text import split_byline

# The caption's prefix: `(수원=연합뉴스) `, `(워싱턴 AP=연합뉴스) `, `(로이터=연합뉴스) `.
PREFIX_RE = re.compile(r"^\((?P<x>[^()=]{1,40})=연합뉴스\) *")
# A one-word prefix naming a foreign agency, not a place (RECORD.md § Captions).
AGENCIES = frozenset(
    {"AP", "AFP", "EPA", "UPI", "로이터", "신화", "교도", "dpa", "EFE", "ANSA", "타스"}
)
# The e-mail that ends a caption: `… 2026.7.16 xanadu@yna.co.kr`; the domain after the last
# `@`, the local part read backwards from it (no search from every start of a long word).
_DOMAIN_RE = re.compile(r"[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)+")
_LOCAL_REVERSED_RE = re.compile(r"[A-Za-z0-9._%+-]+")
# The photo's date that ends a caption, month and day not zero-padded: `… 있다. 2026.7.16`,
# `2022.11.18.`.
DATE_RE = re.compile(r"(?:^| )(?P<y>\d{4})\.(?P<m>\d{1,2})\.(?P<d>\d{1,2})\.?$")
# A handout's restriction ending the credit block: `[전력거래소 제공. 재판매 및 DB 금지]`.
RESTRICTION = "재판매 및 DB 금지"
_RESTRICTION_RE = re.compile(r"\.? *재판매 및 DB 금지$")
# `[네팔 교민 문광진씨 제공]`: 제공 ("provided") is not part of the credit.
PROVIDED = " 제공"


def parse_caption(raw: str) -> kt.CaptionParts:
    """A cleaned caption's parts, in the steps of RECORD.md § Captions."""
    text = kt.clean_text(raw)[:5000]
    dateline = credit = photographer = None
    prefix = PREFIX_RE.match(text)
    if prefix:
        words = prefix.group("x").split()
        if len(words) > 1:
            dateline, credit = " ".join(words[:-1]), words[-1]
        elif words and words[0] in AGENCIES:
            credit = words[0]
        elif words:
            dateline = words[0]
        text = text[prefix.end():]
        byline = split_byline(text)
        if byline is not None:
            photographer = " ".join(name for name, _ in byline[0]) or None
            text = byline[1]
    text, email, block, photo_date = _cut_ends(text.strip())
    restriction = None
    if block is None and text.startswith("["):
        close = text.find("]")
        if close > 0:
            block, text = text[1:close], text[close + 1:].strip()
    if block is not None:
        block_credit, restriction = _credit_block(block)
        credit = block_credit or credit
    return kt.CaptionParts(
        text=text,
        dateline=dateline,
        photographer=photographer,
        credit=credit,
        photo_date=photo_date,
        email=email,
        restriction=restriction,
    )


def _cut_ends(text: str) -> tuple[str, str | None, str | None, str | None]:
    """(text, e-mail, credit block, photo date): each kind cut at most once from the end,
    whichever ends the text, until none does."""
    email = block = photo_date = None
    while True:
        if email is None and (found := _trailing_email(text)) is not None:
            text, email = found
        elif block is None and (found := _trailing_block(text)) is not None:
            text, block = found
        elif photo_date is None and (found := _trailing_date(text)) is not None:
            text, photo_date = found
        else:
            return text, email, block, photo_date


def _trailing_email(text: str) -> tuple[str, str] | None:
    at = text.rfind("@")
    if at <= 0 or not _DOMAIN_RE.fullmatch(text, at + 1):
        return None
    local = _LOCAL_REVERSED_RE.match(text[at - 1 :: -1])
    if local is None:
        return None
    # A local part starts with no dot: `…있다.psy@yna.co.kr` ends with `psy@yna.co.kr`.
    start = at - len(local.group().rstrip("."))
    if start == at:
        return None
    return text[:start].rstrip(), text[start:]


def _trailing_block(text: str) -> tuple[str, str] | None:
    if not text.endswith("]"):
        return None
    start = text.rfind("[")
    if start < 0 or "]" in text[start:-1]:
        return None
    return text[:start].rstrip(), text[start + 1 : -1]


def _trailing_date(text: str) -> tuple[str, str] | None:
    found = DATE_RE.search(text, max(0, len(text) - 12))
    if found is None:
        return None
    try:
        stamp = date(int(found["y"]), int(found["m"]), int(found["d"]))
    except ValueError:
        return None  # no real date: it stays in the text
    if not kt.EARLIEST_PHOTO_DATE <= stamp <= (datetime.now(kt.KST) + kt.FUTURE_MARGIN).date():
        return None
    return text[: found.start()].rstrip(), stamp.isoformat()


def _credit_block(block: str) -> tuple[str | None, str | None]:
    """(credit, restriction) of a `[…]` block: `전력거래소 제공. 재판매 및 DB 금지` → 전력거래소."""
    block = block.strip()
    restriction = None
    found = _RESTRICTION_RE.search(block)
    if found:
        restriction = RESTRICTION
        block = block[: found.start()].rstrip()
    if block.endswith(PROVIDED):
        block = block[: -len(PROVIDED)].rstrip()
    elif block == PROVIDED.strip():
        block = ""
    return block or None, restriction
