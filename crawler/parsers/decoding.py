"""A page's bytes as text: the one place that decides a page's encoding, whatever it declares."""

from __future__ import annotations

import codecs
import re

from crawler.parsers.errors import NotAnArticle

MAX_PAGE_BYTES = 5 * 1024 * 1024
MAX_UNDECODABLE_SHARE = 0.01
_CHARSET_RE = re.compile(rb"<meta[^>]{0,200}?charset\s*=\s*[\"']?\s*([A-Za-z0-9_.:-]{1,40})", re.I)
_UNDECODED_RE = re.compile("[\udc80-\udcff]")
# EUC-KR pages use the cp949 (UHC) extensions, e.g. 똠, 햏: decode them all as cp949.
_CP949_NAMES = frozenset(
    {"euc-kr", "euckr", "euc_kr", "ks_c_5601-1987", "ks_c_5601", "ksc5601", "x-windows-949",
     "windows-949", "cp949", "ms949", "uhc", "ks_x_1001", "korean"}
)
# Byte order marks, longest first: UTF-32's little-endian mark begins with UTF-16's.
_BOMS = (
    (codecs.BOM_UTF32_LE, "utf-32-le"), (codecs.BOM_UTF32_BE, "utf-32-be"),
    (codecs.BOM_UTF8, "utf-8"), (codecs.BOM_UTF16_LE, "utf-16-le"),
    (codecs.BOM_UTF16_BE, "utf-16-be"),
)
# How much of a decoded page `_reads_as_korean` reads when the beginning decides.
_SAMPLE_CHARS = 16384
# Korean text: Hangul syllables and compatibility jamo (`한국`, `ㅋㅋ`).
_HANGUL_RE = re.compile("[\uac00-\ud7a3\u3131-\u318e]")
# What a Korean page misread in another charset is made of: C1 controls and Latin-1 letters
# (cp1252, iso-8859-1: `ÇÑ±¹`), Cyrillic (koi8-r), kana (shift_jis), and the Hangul-free Han
# of a gb2312 reading goes by the absence of Hangul.
_FOREIGN_RE = re.compile("[\u0080-\u009f\u00c0-\u024f\u0370-\u04ff\u3040-\u30ff\uff61-\uff9f]")
# Codecs that are no charset a page can be in (they read escapes, or refuse everything).
_NOT_CHARSETS = ("escape", "idna", "punycode", "undefined", "utf-7", "utf_7")


def decode_page(body: bytes | str) -> bytes:
    """The page as UTF-8 bytes for lxml, after the guards on size, emptiness and binary content."""
    if isinstance(body, str):
        if len(body) > MAX_PAGE_BYTES:
            raise NotAnArticle("page too large")
        if "\x00" in body:
            raise NotAnArticle("binary page (NUL bytes)")
        body = body.encode("utf-8", "replace")
    elif isinstance(body, (bytearray, memoryview)):
        body = bytes(body)
    elif not isinstance(body, bytes):
        raise TypeError(f"page body must be bytes or str, not {type(body).__name__}")
    if len(body) > MAX_PAGE_BYTES:
        raise NotAnArticle("page too large")
    if not body or body.isspace():  # `strip` would copy the whole page to say the same
        raise NotAnArticle("empty page")
    text, body = _from_bom(body)
    if text is None:
        if b"\x00" in body:
            raise NotAnArticle("binary page (NUL bytes)")
        if _is_utf8(body):
            # Already what lxml is given: decoding and encoding again would copy the page twice.
            return body
        text = decode_text(body)
    if "\x00" in text:
        raise NotAnArticle("binary page (NUL bytes)")
    return text.encode("utf-8")


def _is_utf8(body: bytes) -> bool:
    try:
        body.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True


def _from_bom(body: bytes) -> tuple[str | None, bytes]:
    """(the page in the UTF-16/32 its byte order mark names, when it decodes so; else None,
    the bytes without the mark). A mark that lies (cp949 bytes after it) is dropped: the bytes
    say what they are."""
    for bom, codec in _BOMS:
        if body.startswith(bom):
            rest = body[len(bom) :]
            if codec == "utf-8":
                return None, rest
            try:
                text = rest.decode(codec)
            except UnicodeDecodeError:
                return None, rest
            # A mark on bytes that are no UTF-16/32 page reads as text without markup.
            return (text if "<" in text[:4096] else None), rest
    return None, body


def decode_text(body: bytes) -> str:
    """Korean page bytes as text: UTF-8 when they are UTF-8; else the declared charset when it
    reads as Korean; else cp949 when that does; else the declared charset (UTF-8 by default),
    refused as binary when more than 1% of the bytes do not decode in it."""
    # Bytes that are valid UTF-8 are UTF-8, whatever the page declares: text in a real
    # single-byte or cp949 encoding is practically never valid UTF-8 once it leaves ASCII.
    try:
        return body.decode("utf-8")
    except UnicodeDecodeError:
        pass
    charset = declared_charset(body)
    declared = _strict(body, charset)
    if declared is not None and _reads_as_korean(declared):
        return declared
    cp949 = _strict(body, "cp949")
    if cp949 is not None and _reads_as_korean(cp949):
        return cp949
    # Not strictly decodable as Korean (a damaged byte or two): UTF-8, else cp949, when that
    # reading is Korean with few bytes lost; else what the page declares.
    limit = MAX_UNDECODABLE_SHARE * len(body)
    for name in ("utf-8", "cp949"):
        text, undecodable = _lenient(body, name)
        if undecodable <= limit and _reads_as_korean(text, undecodable):
            break
    else:
        text, undecodable = (declared, 0) if declared is not None else _lenient(body, charset)
    if undecodable > limit:
        raise NotAnArticle(f"binary page ({undecodable} undecodable bytes)")
    if undecodable:
        text = _UNDECODED_RE.sub("\ufffd", text)
    return text


def declared_charset(body: bytes) -> str:
    """The Python codec of the page's `<meta charset>` (or http-equiv); UTF-8 when none or
    unknown."""
    found = _CHARSET_RE.search(body, 0, 16384)
    charset = found.group(1).decode("ascii").lower() if found else "utf-8"
    if charset in _CP949_NAMES:
        return "cp949"
    if charset.startswith(("utf-16", "utf16", "utf-32", "utf32")):
        # An ASCII-readable declaration cannot sit in a UTF-16/32 page; HTML reads it as UTF-8.
        return "utf-8"
    try:
        name = codecs.lookup(charset).name
    except LookupError:
        return "utf-8"
    if name in ("euc_kr", "cp949"):
        return "cp949"
    return "utf-8" if any(part in name for part in _NOT_CHARSETS) else name


def _strict(body: bytes, charset: str) -> str | None:
    try:
        return body.decode(charset)
    except (LookupError, UnicodeError):
        return None


def _lenient(body: bytes, charset: str) -> tuple[str, int]:
    """The text and how many bytes did not decode (kept as lone surrogates for now)."""
    try:
        text = body.decode(charset, "surrogateescape")
    except (LookupError, UnicodeError):
        text = body.decode("utf-8", "surrogateescape")
    return text, len(_UNDECODED_RE.findall(text))


def _reads_as_korean(text: str, undecodable: int = 0) -> bool:
    """Hangul, and more of it than undecoded bytes and letters of a misread charset together.

    A page with nothing undecoded is judged by its beginning when that holds Hangul (a title, a
    menu): a misread charset garbles every Korean character alike, so the beginning says what
    the whole would, and counting through a whole page costs more than decoding it."""
    if not undecodable:
        sample = text[:_SAMPLE_CHARS]
        hangul = len(_HANGUL_RE.findall(sample))
        if hangul:
            return hangul > len(_FOREIGN_RE.findall(sample))
    hangul = len(_HANGUL_RE.findall(text))
    return hangul > 0 and hangul > undecodable + len(_FOREIGN_RE.findall(text))
