"""Issue 16 #9: a Korean page decodes to the same record whatever charset it declares."""

from __future__ import annotations

import codecs
import re
from datetime import UTC, datetime

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from crawler.archiving import ingest
from crawler.parsers import ParseError
from crawler.publishers import parse_article
from storage.db import open_archive, upgrade
from storage.models import Capture, Version
from tests.support.storage_fixtures import example_page, fetched

EXAMPLES = ("seed-l3", "older-l2", "photo-item")
REAL_ENCODINGS = ("utf-8", "cp949")
# What a page (or a proxy in front of it) may claim: single-byte and East Asian charsets,
# UTF-16 in an ASCII-readable declaration, names no codec knows, the truth, nothing at all.
DECLARED = (
    None, "windows-1252", "iso-8859-1", "latin1", "koi8-r", "cp1251", "mac-roman", "tis-620",
    "shift_jis", "euc-jp", "gb2312", "big5", "hz-gb-2312", "utf-16", "utf-16le", "ascii",
    "us-ascii", "x-bogus", "../../etc/passwd", "utf-9", "utf-7", "unicode-escape", "utf-8",
    "euc-kr", "cp949", "ks_c_5601-1987", "johab", "iso-2022-kr",
)
BOMS = (b"", codecs.BOM_UTF8, codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE, codecs.BOM_UTF32_LE)
# A second declaration, as an http-equiv meta before the first (they disagree).
SECOND = (None, "windows-1252", "euc-kr", "utf-8")


def page_in(text: str, real: str, declared: str | None, bom: bytes, second: str | None) -> bytes:
    meta = f'<meta charset="{declared}">' if declared else ""
    text = re.sub(r'<meta charset="[^"]*">', meta, text, count=1)
    if second:
        equiv = f'<meta http-equiv="Content-Type" content="text/html; charset={second}">'
        text = text.replace("<head>", "<head>" + equiv, 1)
    # cp949 cannot spell every character of a UTF-8 page: those become references, as a
    # cp949 site writes them, and read back the same.
    return bom + text.encode(real, "xmlcharrefreplace")


def outcome(body: bytes, url: str) -> dict | str:
    try:
        return parse_article(body, url).to_dict()
    except ParseError as error:
        return error.reason


@pytest.mark.parametrize("real", REAL_ENCODINGS)
@pytest.mark.parametrize("name", EXAMPLES)
def test_a_korean_page_gives_its_record_whatever_charset_it_declares(name, real):
    raw, url, _ = example_page(name)
    expected = parse_article(raw, url).to_dict()
    text = raw.decode("utf-8")
    wrong = []
    for declared in DECLARED:
        for bom in BOMS:
            for second in SECOND:
                body = page_in(text, real, declared, bom, second)
                got = outcome(body, url)
                if got != expected:
                    shown = got if isinstance(got, str) else got["headline"]
                    wrong.append(f"{declared} bom={bom!r} second={second}: {shown[:60]}")
    assert wrong == []


def test_a_utf16_page_with_its_byte_order_mark_gives_its_record():
    raw, url, _ = example_page("seed-l3")
    expected = parse_article(raw, url).to_dict()
    for codec in ("utf-16", "utf-32"):
        assert outcome(raw.decode("utf-8").encode(codec), url) == expected


def test_random_bytes_declared_as_any_charset_stay_a_binary_page():
    junk = bytes(range(128, 256)) * 64
    for declared in ("windows-1252", "euc-kr", "koi8-r", "utf-8"):
        body = f'<html><head><meta charset="{declared}"></head><body>'.encode() + junk
        reason = outcome(body + b"</body></html>", "https://www.newsis.com/view/NISX20241115_0002960118")
        assert isinstance(reason, str)


# Content-Type headers that disagree with the page and with each other.
HEADERS = (
    "text/html; charset=windows-1252", "text/html; charset=ISO-8859-1", "text/html; charset=KOI8-R",
    "text/html; charset=shift_jis", "text/html; charset=utf-16", "text/html; charset=EUC-KR",
    "text/html; charset=UTF-8", "text/html", "application/octet-stream",
)


def test_ingest_stores_the_correctly_decoded_record_whatever_the_headers_say(db_url):
    raw, url, expected = example_page("seed-l3")
    upgrade(db_url)
    engine = open_archive(db_url, for_writing=True)
    try:
        with Session(engine) as session:
            for number, (header, real, declared) in enumerate(
                (header, real, declared)
                for header in HEADERS
                for real in REAL_ENCODINGS
                for declared in ("windows-1252", "koi8-r", "utf-8", "euc-kr")
            ):
                body = page_in(raw.decode("utf-8"), real, declared, b"", None)
                when = datetime(2024, 11, 15, 0, number % 60, number // 60, tzinfo=UTC)
                page = fetched(body, url, when, headers={"Content-Type": header})
                result = ingest(session, page)
                assert result.error is None, (header, real, declared, result.error)
            versions = session.scalars(select(Version)).all()
            assert [(v.headline, v.body) for v in versions] == [
                (expected["headline"], expected["body"])
            ]
            assert session.scalar(select(Capture).where(Capture.parse_error.is_not(None))) is None
    finally:
        engine.dispose()
