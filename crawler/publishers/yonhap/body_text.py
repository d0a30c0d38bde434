"""Yonhap body text rules: footer lines, the closing e-mail line, the lead's dateline and byline."""

from __future__ import annotations

import re
from dataclasses import dataclass

from storage.record import Reporter

# Footer lines, wherever they stand (RECORD.md § Body): `제보는 카카오톡 okjebo`,
# `<저작권자(c) 연합뉴스, 무단 전재-재배포, AI 학습 및 활용 금지>`, `2026/07/16 14:32 송고`,
# a graphic's `페이스북tuney.kr/LeYN1 X(트위터) @yonhap_graphics`.
FOOTER_RE = re.compile(
    r"^(?:제보는 카카오톡 okjebo$|<저작권자|\d{4}/\d{2}/\d{2} \d{2}:\d{2} 송고|페이스북tuney\.kr)"
)
# A paragraph of e-mail addresses only, spaces or commas between: `psy@yna.co.kr`,
# `psy@yna.co.kr, haram@yna.co.kr`.
EMAIL = r"[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)+"
EMAIL_RE = re.compile(EMAIL)
EMAILS_LINE_RE = re.compile(rf"{EMAIL}(?:[ ,]+{EMAIL})*[ ,]*")
# The lead's prefix, PLACE without `(`, `)`, `=`: `(서울=연합뉴스) `, `(워싱턴·서울=연합뉴스) `,
# `(랄릿푸르[네팔]=연합뉴스) `.
LEAD_PREFIX_RE = re.compile(r"^\((?P<place>[^()=]{1,40})=연합뉴스\) *")
# A byline after the prefix: Hangul words ending in a title, then `=` (RECORD.md § Byline):
# `박서윤 정하람 기자 = `, `김동현 특파원 고상민 기자 = `; `▲ 무역협회는 … 참가비=무료` is none.
TITLE_WORDS = ("기자", "특파원", "통신원", "인턴기자", "선임기자", "전문기자", "객원기자")
BYLINE_RE = re.compile(rf"^((?:[가-힣]+ )*?(?:{'|'.join(TITLE_WORDS)})) ?= ?")


@dataclass(frozen=True, slots=True)
class Lead:
    """What the lead's prefix says, and the paragraph without it."""

    dateline: str | None
    reporters: tuple[tuple[str, str], ...]  # (name, title)
    rest: str


def is_footer(paragraph: str) -> bool:
    return FOOTER_RE.match(paragraph) is not None


def until_closing_emails(paragraphs: list[str]) -> tuple[list[str], list[str]]:
    """(the paragraphs before the closing e-mail line(s), the addresses of those lines in order).

    The body ends with the reporters' addresses alone on a line (STRUCTURE.md § Text)."""
    end = len(paragraphs)
    while end and EMAILS_LINE_RE.fullmatch(paragraphs[end - 1]):
        end -= 1
    emails = [found for line in paragraphs[end:] for found in EMAIL_RE.findall(line)]
    return paragraphs[:end], emails


def split_byline(text: str) -> tuple[tuple[tuple[str, str], ...], str] | None:
    """((name, title) per name of a byline that starts `text`, the text after it), or None.

    Each title word closes a group of names:
    `김동현 특파원 고상민 기자` → 김동현 특파원, 고상민 기자.
    """
    match = BYLINE_RE.match(text[:200])
    if match is None:
        return None
    names: list[str] = []
    reporters: list[tuple[str, str]] = []
    for word in match.group(1).split():
        if word in TITLE_WORDS:
            reporters.extend((name, word) for name in names)
            names = []
        else:
            names.append(word)
    return tuple(reporters), text[match.end():]


def split_lead(paragraph: str) -> Lead:
    """Cut `(세종=연합뉴스) 박서윤 정하람 기자 = ` off the lead."""
    match = LEAD_PREFIX_RE.match(paragraph[:200])
    if match is None:
        return Lead(None, (), paragraph)
    rest = paragraph[match.end():]
    byline = split_byline(rest)
    reporters: tuple[tuple[str, str], ...] = ()
    if byline is not None:
        reporters, rest = byline
    return Lead(match.group("place").strip() or None, reporters, rest.strip())


def lead_byline(
    body: list[str], emails: list[str]
) -> tuple[str | None, tuple[Reporter, ...], list[str]]:
    """The dateline and reporters of the body's lead, and the body without its prefix. The
    closing line's addresses go to the reporters in order; left-over addresses are dropped."""
    if not body:
        return None, (), body
    lead = split_lead(body[0])
    if lead.dateline is None:
        return None, (), body
    reporters = tuple(
        Reporter(name, title, emails[index] if index < len(emails) else None)
        for index, (name, title) in enumerate(lead.reporters)
    )
    return lead.dateline, reporters, ([lead.rest] if lead.rest else []) + body[1:]
