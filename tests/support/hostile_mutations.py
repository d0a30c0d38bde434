"""The mutations of the hostile corpus: each makes one bad page (body, URL, content type) from
a real page and a seeded random generator."""

from __future__ import annotations

import random
import re

from crawler.publishers.newsis.parser import MAX_PAGE_BYTES
from tests.support.article_pages import BasePage

HTML_CONTENT_TYPE = "text/html; charset=UTF-8"


# --- helpers on the page text -------------------------------------------------------------------


def _text(body: bytes) -> str:
    return body.decode("utf-8", "surrogateescape")


def _bytes(text: str) -> bytes:
    return text.encode("utf-8", "surrogateescape")


def _tag_boundaries(text: str) -> list[int]:
    return [match.start() for match in re.finditer("<", text)] or [0]


def _insert_at(text: str, position: int, snippet: str) -> str:
    return text[:position] + snippet + text[position:]


def _inside_content(rng: random.Random, base: BasePage, text: str) -> int:
    """A position inside the headline, a body paragraph or a caption; else a tag boundary."""
    anchors = [t for t in (base.headline, *base.body_texts, *base.caption_texts) if t]
    rng.shuffle(anchors)
    for anchor in anchors:
        found = text.find(anchor[:6])
        if found >= 0:
            return found + rng.randint(0, min(6, len(anchor)))
    return rng.choice(_tag_boundaries(text))


def _blank_out(text: str, needle: str, replacement: str) -> str:
    """Every occurrence of `needle` (or of its first 12 characters when longer) replaced."""
    if not needle:
        return text
    if needle in text:
        return text.replace(needle, replacement)
    return text.replace(needle[:12], replacement)


# --- mutations: (rng, base) -> (body, url, content type) ----------------------------------------

Mutated = tuple[bytes, str, str]
CLOSING_TAGS = ("</div>", "</p>", "</article>", "</h1>", "</html>", "</body>", "</span>", "</a>")
OPENING_TAGS = ("<div>", "<p>", "<article>", "<h1 class=\"tit title_area\">", "<table><tr><td>",
                "<b>", "<font color=red>", "<li>", "<select>", "<template>")


def broken_nesting(rng: random.Random, base: BasePage) -> Mutated:
    text = _text(base.body)
    closers = [m.start() for m in re.finditer(r"</[a-zA-Z0-9]+\s*>", text)]
    for start in sorted(rng.sample(closers, min(len(closers), rng.randint(1, 40))), reverse=True):
        end = text.index(">", start) + 1
        text = text[:start] + text[end:]
    for _ in range(rng.randint(1, 30)):
        tag = rng.choice(CLOSING_TAGS + OPENING_TAGS)
        text = _insert_at(text, rng.choice(_tag_boundaries(text)), tag)
    return _bytes(text), base.url, HTML_CONTENT_TYPE


def swapped_blocks(rng: random.Random, base: BasePage) -> Mutated:
    text = _text(base.body)
    bounds = _tag_boundaries(text)
    for _ in range(rng.randint(1, 6)):
        a, b = sorted(rng.sample(bounds, 2)) if len(bounds) > 1 else (0, 0)
        chunk = text[a:b][:20_000]
        text = text[:a] + text[a + len(chunk):]
        text = _insert_at(text, rng.randint(0, len(text)), chunk)
        bounds = _tag_boundaries(text)
    return _bytes(text), base.url, HTML_CONTENT_TYPE


def giant_past_cap(rng: random.Random, base: BasePage) -> Mutated:
    text = _text(base.body)
    pad_kind = rng.choice(["paragraphs", "comment", "script", "attribute"])
    size = MAX_PAGE_BYTES + rng.randint(1, 2 * 1024 * 1024)
    unit = {
        "paragraphs": "<p>가나다라마바사 아자차카타파하 뉴시스 본문이 끝없이 이어진다.</p>\n",
        "comment": "<!-- " + "x" * 200 + " -->",
        "script": "<script>var a='" + "y" * 300 + "';</script>",
        "attribute": "<div data-x=\"" + "z" * 500 + "\"></div>",
    }[pad_kind]
    pad = unit * (size // len(unit.encode()) + 1)
    text = _insert_at(text, _inside_content(rng, base, text), pad)
    return _bytes(text), base.url, HTML_CONTENT_TYPE


def big_under_cap(rng: random.Random, base: BasePage) -> Mutated:
    text = _text(base.body)
    room = MAX_PAGE_BYTES - len(base.body) - 4096
    unit = "<br><br>뉴시스 기사 문단이 아주 길게 반복된다 " + str(rng.randint(0, 9)) + "."
    pad = unit * (room // len(unit.encode()))
    text = _insert_at(text, _inside_content(rng, base, text), pad)
    return _bytes(text), base.url, HTML_CONTENT_TYPE


def deep_nesting(rng: random.Random, base: BasePage) -> Mutated:
    text = _text(base.body)
    depth = rng.choice([300, 1_000, 5_000, 20_000, 100_000])
    tag = rng.choice(["div", "span", "b", "p", "font", "blockquote", "table"])
    closed = rng.random() < 0.5
    snippet = f"<{tag}>" * depth + "깊은 곳의 텍스트" + (f"</{tag}>" * depth if closed else "")
    text = _insert_at(text, _inside_content(rng, base, text), snippet)
    return _bytes(text), base.url, HTML_CONTENT_TYPE


def _set_charset(text: str, charset: str) -> str:
    return re.sub(r'<meta charset="[^"]*">', f'<meta charset="{charset}">', text, count=1)


CHARSET_VARIANTS = (
    "utf8-declared-euckr", "cp949-declared-utf8", "unknown", "utf16-declared", "utf16-bytes",
    "latin1-declared", "two-charsets", "cp949-undeclared", "ascii-declared", "lying-header",
)


def wrong_charset(rng: random.Random, base: BasePage) -> Mutated:
    variant = rng.choice(CHARSET_VARIANTS)
    return charset_variant(variant, rng, base)


def charset_variant(variant: str, rng: random.Random, base: BasePage) -> Mutated:
    text = _text(base.body)
    content_type = HTML_CONTENT_TYPE
    if variant == "utf8-declared-euckr":
        return _bytes(_set_charset(text, "euc-kr")), base.url, "text/html; charset=EUC-KR"
    if variant == "cp949-declared-utf8":
        return text.encode("cp949", "xmlcharrefreplace"), base.url, content_type
    if variant == "unknown":
        name = rng.choice(["x-klingon", "utf-9", "../../etc/passwd", "euc-kr\x7f", "🙂"])
        return _bytes(_set_charset(text, name)), base.url, content_type
    if variant == "utf16-declared":
        return _bytes(_set_charset(text, "utf-16")), base.url, content_type
    if variant == "utf16-bytes":
        codec = rng.choice(["utf-16", "utf-16-le", "utf-32"])
        return text.encode(codec, "surrogatepass"), base.url, f"text/html; charset={codec}"
    if variant == "latin1-declared":
        return _bytes(_set_charset(text, "iso-8859-1")), base.url, content_type
    if variant == "two-charsets":
        head = '<meta http-equiv="Content-Type" content="text/html; charset=euc-kr">'
        return _bytes(_insert_at(text, text.find("<meta"), head)), base.url, content_type
    if variant == "cp949-undeclared":
        text = re.sub(r'<meta charset="[^"]*">', "", text, count=1)
        return text.encode("cp949", "xmlcharrefreplace"), base.url, "text/html"
    if variant == "ascii-declared":
        return _bytes(_set_charset(text, "us-ascii")), base.url, content_type
    return base.body, base.url, rng.choice(
        ["application/octet-stream", "image/png", "text/html; charset=shift_jis", "", "\x00"]
    )


def nul_bytes(rng: random.Random, base: BasePage) -> Mutated:
    body = bytearray(base.body)
    where = rng.choice(["random", "headline", "end", "entity"])
    if where == "entity":
        text = _text(base.body)
        text = _insert_at(text, _inside_content(rng, base, text), rng.choice(["&#0;", "&#x0;"]))
        return _bytes(text), base.url, HTML_CONTENT_TYPE
    for _ in range(rng.randint(1, 8)):
        if where == "random":
            position = rng.randint(0, len(body))
        elif where == "headline":
            position = _inside_content(rng, base, _text(bytes(body)))
            position = len(_bytes(_text(bytes(body))[:position]))
        else:
            position = len(body)
        body[position:position] = b"\x00" * rng.randint(1, 3)
    return bytes(body), base.url, HTML_CONTENT_TYPE


SCRIPT_SNIPPETS = (
    "<script>document.write('<h1 class=\"tit title_area\">가짜 제목</h1>');</script>",
    "<script>var s = '</p><p>가짜 문단';</script>",
    "<script type=\"text/template\"><article itemprop=\"articleBody\">가짜</article></script>",
    "<script>",  # never closed: the rest of the page is script text
    "<script><!--",
    "</script>",
    "<style>p { color: red } </p><p> 가짜 </style>",
    "<noscript><p>자바스크립트를 켜세요</p></noscript>",
    "<svg><script>alert(1)</script></svg>",
    "<iframe srcdoc=\"<p>가짜 본문</p>\"></iframe>",
    "<img src=x onerror=alert(1)>",
    "<a href=\"javascript:alert(1)\">링크</a>",
    "<!-- an unclosed comment",
    "<![CDATA[ <p>cdata</p> ]]>",
    "<?php echo 'x'; ?>",
    "<textarea>",
    "<plaintext>",
    "<xmp></article></xmp>",
    "<math><mi>x</mi></math>",
    "<object data=\"data:text/html,<p>x</p>\"></object>",
)


# The same tricks with Yonhap's selectors (a headline, a body container, a subheadline).
YONHAP_SNIPPETS = (
    "<script>document.write('<h1 class=\"tit01\">가짜 제목</h1>');</script>",
    "<template><div class=\"story-news article\"><p>가짜 본문</p></div></template>",
    "<noscript><div class=\"tit-sub\"><h2>가짜 부제</h2></div></noscript>",
    "<script>var s = '</div></article><p>(서울=연합뉴스) 가짜 기자 = 가짜';</script>",
)


def scripts_in_odd_places(rng: random.Random, base: BasePage) -> Mutated:
    text = _text(base.body)
    snippets = SCRIPT_SNIPPETS + (YONHAP_SNIPPETS if base.publisher == "yonhap" else ())
    for _ in range(rng.randint(1, 5)):
        snippet = rng.choice(snippets)
        position = (
            _inside_content(rng, base, text)
            if rng.random() < 0.6
            else rng.choice(_tag_boundaries(text))
        )
        text = _insert_at(text, position, snippet)
    return _bytes(text), base.url, HTML_CONTENT_TYPE


def missing_fields(rng: random.Random, base: BasePage) -> Mutated:
    """An article-looking page with its headline, time, body or captions gone (or blank)."""
    text = _text(base.body)
    filler = rng.choice(["", " ", "&nbsp;", "\u200b", "<br>", "&#8203;", "\u3000"])
    gone = rng.sample(["headline", "time", "body", "captions"], rng.randint(1, 3))
    if "headline" in gone and base.headline:
        text = _blank_out(text, base.headline, filler)
        text = re.sub(r"(<h1[^>]*>).*?(</h1>)", rf"\g<1>{filler}\g<2>", text, flags=re.S)
    if "time" in gone:
        text = re.sub(r"\d{4}[.-]\d{2}[.-]\d{2}\s*\d{2}:\d{2}(:\d{2})?", filler, text)
        text = re.sub(r'<meta[^>]*published_time[^>]*>', "", text)
    if "body" in gone:
        for paragraph in base.body_texts:
            text = _blank_out(text, paragraph, filler)
    if "captions" in gone:
        for caption in base.caption_texts:
            text = _blank_out(text, caption, filler)
    return _bytes(text), base.url, HTML_CONTENT_TYPE


def lying_identity(rng: random.Random, base: BasePage) -> Mutated:
    """The URL fetched, the canonical link or og:url name another article, host or nothing."""
    if base.publisher == "yonhap":
        return _lying_yonhap_identity(rng, base)
    text = _text(base.body)
    other_id = f"NISX{rng.randint(2000, 2030)}{rng.randint(1, 12):02d}{rng.randint(1, 28):02d}_" \
               f"{rng.randint(0, 9_999_999_999):010d}"
    choice = rng.choice(["url-no-id", "url-other-host", "url-mobile", "url-old-form",
                         "canonical-other", "canonical-evil-host", "og-garbage", "url-garbage"])
    url = base.url
    if choice == "url-no-id":
        url = rng.choice(["https://www.newsis.com/", "https://www.newsis.com/view/",
                          "https://www.newsis.com/realnews/?page=2"])
    elif choice == "url-other-host":
        url = f"https://evil.example/view/{other_id}"
    elif choice == "url-mobile":
        match = re.search(r"NIS[XI]\d{8}_\d{10}", base.url)
        url = f"https://m.newsis.com/view.html?ar_id={match.group(0) if match else other_id}"
    elif choice == "url-old-form":
        url = f"http://www.newsis.com/ar_detail/view.html?ar_id={other_id}&cID=10201"
    elif choice == "url-garbage":
        url = rng.choice(["", "not a url", "javascript:alert(1)", "file:///etc/passwd",
                          "https://www.newsis.com/view/NISX2024_1", "http://[::1", "\x00"])
    elif choice == "canonical-other":
        text = re.sub(r"NIS[XI]\d{8}_\d{10}", other_id, text, count=rng.randint(1, 3))
    elif choice == "canonical-evil-host":
        text = text.replace("www.newsis.com", "www.newsis.com.evil.example")
    else:
        text = re.sub(r'(property="og:url" content=")[^"]*', r"\g<1>javascript:alert(1)", text)
    return _bytes(text), url, HTML_CONTENT_TYPE


YONHAP_CID = r"[A-Z]{3}\d{17}"


def _lying_yonhap_identity(rng: random.Random, base: BasePage) -> Mutated:
    text = _text(base.body)
    kind = rng.choice(["AKR", "PYH", "AEN", "GYH", "MYH"])
    other_id = f"{kind}{rng.randint(2015, 2030)}{rng.randint(1, 12):02d}" \
               f"{rng.randint(1, 28):02d}{rng.randint(0, 999_999_999):09d}"
    match = re.search(YONHAP_CID, base.url)
    own_id = match.group(0) if match else other_id
    url = rng.choice([
        "https://www.yna.co.kr/", "https://www.yna.co.kr/news/1", "",
        f"https://evil.example/view/{other_id}", f"https://www.yna.co.kr/view/{other_id}",
        f"https://m.yna.co.kr/amp/view/{own_id}", f"https://en.yna.co.kr/view/{own_id}",
        f"http://www.yonhapnews.co.kr/bulletin/2018/06/12/0200000000{other_id}.HTML",
        "javascript:alert(1)", "http://[::1", "\x00", base.url,
    ])
    choice = rng.choice(["url-only", "canonical-other", "canonical-evil-host", "og-garbage"])
    if choice == "canonical-other":
        text = re.sub(YONHAP_CID, other_id, text, count=rng.randint(1, 3))
    elif choice == "canonical-evil-host":
        text = text.replace("www.yna.co.kr", "www.yna.co.kr.evil.example")
    elif choice == "og-garbage":
        text = re.sub(r'(property="og:url" content=")[^"]*', r"\g<1>javascript:alert(1)", text)
    return _bytes(text), url, HTML_CONTENT_TYPE


def truncated(rng: random.Random, base: BasePage) -> Mutated:
    cut = rng.randint(0, len(base.body))
    return base.body[:cut], base.url, HTML_CONTENT_TYPE


def byte_noise(rng: random.Random, base: BasePage) -> Mutated:
    body = bytearray(base.body)
    share = rng.choice([0.0005, 0.005, 0.02, 0.2])
    for _ in range(max(1, int(len(body) * share))):
        body[rng.randrange(len(body))] = rng.randrange(1, 256)
    return bytes(body), base.url, HTML_CONTENT_TYPE


ODD_TEXT = (
    "\u00a0", "\u3000", "\u2003", "\u200b", "\u200d", "\ufeff", "\u00ad", "\u202e", "\u2028",
    "\u0001", "\u001b[31m", "\u007f", "\r\n", "\t\t", "&nbsp;", "&#xD800;", "&#x110000;",
    "&#99999999999;", "&#65535;", "&amp;amp;", "&lt;script&gt;", "&bogus;", "&#", "&#x;",
    "\u1112\u1161\u11ab", "e\u0301", "\U0001f600", "\ufffd", "\U000e0001",
)


def odd_text(rng: random.Random, base: BasePage) -> Mutated:
    text = _text(base.body)
    for _ in range(rng.randint(1, 12)):
        snippet = "".join(rng.choice(ODD_TEXT) for _ in range(rng.randint(1, 4)))
        text = _insert_at(text, _inside_content(rng, base, text), snippet)
    return _bytes(text), base.url, HTML_CONTENT_TYPE


def entity_flood(rng: random.Random, base: BasePage) -> Mutated:
    text = _text(base.body)
    entity = rng.choice(["&amp;", "&#xAC00;", "&nbsp;", "&lt;&gt;", "&#12;", "&#x200B;"])
    text = _insert_at(text, _inside_content(rng, base, text), entity * rng.randint(1000, 50_000))
    return _bytes(text), base.url, HTML_CONTENT_TYPE


def not_really_pages(rng: random.Random, base: BasePage) -> Mutated:
    body = rng.choice([
        b"", b" ", b"\n\t\r ", b"\xef\xbb\xbf", b"<!DOCTYPE html>", b"<html></html>",
        b"<html><body></body></html>", b"</html>", b"\xff\xfe<\x00h\x00", b"GISA FILE NOT EXISTS",
        b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n", b"\x89PNG\r\n\x1a\n" + bytes(range(256)),
        b"{\"headline\": \"json, not html\"}", b"<?xml version=\"1.0\"?><rss></rss>",
        b"<html>" + b"<" * 10_000 + b"</html>", b"<html>" + b"&" * 10_000 + b"</html>",
        bytes(rng.randrange(256) for _ in range(rng.randint(1, 4000))),
    ])
    return body, base.url, HTML_CONTENT_TYPE


def duplicated(rng: random.Random, base: BasePage) -> Mutated:
    text = _text(base.body)
    if rng.random() < 0.5:
        text = text + text
    else:
        match = re.search(r"<article.*?</article>", text, flags=re.S)
        if match:
            text = _insert_at(text, match.end(), match.group(0) * rng.randint(2, 5))
    return _bytes(text), base.url, HTML_CONTENT_TYPE
