"""Property: every record the parser accepts holds only what a reader sees of the article.

Pages come from the examples and the local site (both designs, photo items); text a reader does
not see is inserted at many places and nesting depths. The test's own, browser-like rules say
what is visible; the parser must keep the record of the untouched page or refuse the page.
"""

from __future__ import annotations

import random
import re

import pytest
from lxml import etree

from crawler.parsers import NotAnArticle
from crawler.parsers.text import clean_text
from crawler.publishers import parse_article
from storage.record import ArticleRecord
from tests.support.article_pages import (
    BLOCK_START,
    CAPTURE_BASE,
    article_bases,
    in_phrasing,
    insertion_points,
)

SEED = 16_6
SECRET = "숨은글{n}XYZ"
# Places a reader does not see text in, one per class of issue 16 #6; `{s}` is the hidden text.
HIDING_PLACES = (
    "<template>{s}</template>",
    '<template><div class="viewer"><article itemprop="articleBody">{s}<br><br>{s}'
    "</article></div></template>",
    "<!-- {s} -->",
    "<!--{s}<br><br>{s}-->",
    "<![CDATA[{s}]]>",
    "<noscript>{s}</noscript>",
    "<noscript><p>{s}</p></noscript>",
    '<script type="text/html"><p>{s}</p></script>',
    "<script>document.write('{s}');</script>",
    "<style>/* {s} */</style>",
    "<div hidden>{s}</div>",
    '<span hidden="hidden">{s}</span>',
    '<p hidden="until-found">{s}</p>',
    '<div style="display:none">{s}</div>',
    '<div style="DISPLAY: NONE !important">{s}</div>',
    '<span style="color:red; display :none;">{s}</span>',
    '<div style="display:/* x */none">{s}<br><br>{s}</div>',
    '<span style="visibility:hidden">{s}</span>',
    '<div style="visibility: collapse">{s}</div>',
    '<span style="opacity:0">{s}</span>',
    '<span style="font-size:0px">{s}</span>',
    '<div aria-hidden="true">{s}</div>',
    '<span class="blind">{s}</span>',
    "<textarea>{s}</textarea>",
    "<select><option>{s}</option></select>",
    '<object data="x.swf">{s}</object>',
    '<iframe srcdoc="<p>{s}</p>">{s}</iframe>',
    '<svg width="10"><text x="0" y="10">{s}</text></svg>',
    "<math><mi>{s}</mi></math>",
    "<video>{s}</video>",
    "<canvas>{s}</canvas>",
    '<span title="{s}" data-text="{s}"></span>',
    '<input type="hidden" value="{s}"><abbr title="{s}"></abbr>',
    '<div style="display:none"><p style="display:block">{s}</p></div>',
    '<div hidden><div class="viewer"><article itemprop="articleBody">{s}</article></div></div>',
    "<style>.hx{{display:none}}</style><span class=\"hx\">{s}</span>",
    '<style>p.note, div.hz {{ visibility : hidden !important }}</style><div class="a hz">{s}</div>',
    '<style>/* ids too */ #hy{{display:none}}</style><p id="hy">{s}</p>',
)
DEPTHS = (0, 1, 3, 20, 100)
WRAPPERS = ("span", "b", "font", "div")


# --- the test's own idea of what a reader sees ----------------------------------------------------

_UNSEEN_TAGS = {"script", "style", "template", "noscript", "textarea", "select", "option",
                "object", "embed", "iframe", "svg", "math", "video", "audio", "canvas", "title"}
_HIDING_STYLE = re.compile(
    r"display\s*:\s*none|visibility\s*:\s*(hidden|collapse)|opacity\s*:\s*0|font-size\s*:\s*0",
    re.I,
)
_BREAKS = {"br", "p", "div", "article", "li", "td", "tr", "table", "h1", "h2", "h3"}


_SHEET_RULE = re.compile(r"([.#][\w-]+)\s*\{[^}]*?(?:display\s*:\s*none|visibility\s*:\s*hidden)")


def sheet_hidden(root: etree._Element) -> set[str]:
    """`.class` and `#id` names the page's `<style>` rules hide (the test's simple reading)."""
    sheets = " ".join(style.text or "" for style in root.iter("style"))
    return set(_SHEET_RULE.findall(re.sub(r"/\*.*?\*/", "", sheets)))


def unseen(element: etree._Element, by_sheet: set[str] = frozenset()) -> bool:
    style = re.sub(r"/\*.*?\*/", "", element.get("style") or "")
    names = {"." + name for name in (element.get("class") or "").split()}
    names.add("#" + (element.get("id") or ""))
    return (
        element.tag in _UNSEEN_TAGS
        or element.get("hidden") is not None
        or element.get("aria-hidden") == "true"
        or "blind" in (element.get("class") or "").split()
        or bool(_HIDING_STYLE.search(style))
        or not names.isdisjoint(by_sheet)
    )


def visible_text(element: etree._Element) -> str:
    """What a reader sees inside `element`, runs separated by newlines (iterative)."""
    by_sheet = sheet_hidden(element.getroottree().getroot())
    out: list[str] = [element.text or ""]
    stack: list[tuple[etree._Element, bool]] = [(child, False) for child in reversed(element)]
    while stack:
        node, closing = stack.pop()
        if closing:
            out.append("\n" if node.tag in _BREAKS else "")
            out.append(node.tail or "")
            continue
        if isinstance(node.tag, str) and not unseen(node, by_sheet):
            out.append("\n" if node.tag in _BREAKS else "")
            out.append(node.text or "")
            stack.append((node, True))
            stack.extend((child, False) for child in reversed(node))
        else:
            out.append(node.tail or "")
    return "\n".join(clean_text(line) for line in "".join(out).split("\n"))


def seen_containers(body: bytes) -> list[etree._Element]:
    """The article containers a reader sees (STRUCTURE.md: current `div.viewer > article`, older
    `div#textBody`), by the test's own walk."""
    parser = etree.HTMLParser(huge_tree=True, remove_comments=True)
    root = etree.fromstring(body, parser)
    found = [
        element for element in root.iter("article", "div")
        if (element.tag == "article" and "viewer" in (element.getparent().get("class") or ""))
        or (element.tag == "div" and element.get("id") == "textBody"
            and "view_text" in (element.getparent().get("class") or ""))
    ]
    by_sheet = sheet_hidden(root)
    return [
        element for element in found
        if not any(unseen(node, by_sheet) for node in (element, *element.iterancestors()))
    ]


def unseen_in_record(record: ArticleRecord, container_text: str) -> list[str]:
    """Record strings (body, subheadlines, captions, reporters) a reader does not see there."""
    problems = [f"body {p[:40]!r}" for p in record.body if p not in container_text]
    problems += [f"subheadline {s[:40]!r}" for s in record.subheadlines
                 if s not in container_text]
    for caption in record.captions:
        problems += [f"caption word {word!r}" for word in caption.text.split()
                     if word not in container_text]
    problems += [f"reporter {r.name!r}" for r in record.reporters if r.name not in container_text]
    return problems


# --- generated pages ------------------------------------------------------------------------------


def hidden_snippet(rng: random.Random, n: int, phrasing: bool, line_end: bool) -> str:
    secret = SECRET.format(n=n)
    places = [p for p in HIDING_PLACES if not (phrasing and BLOCK_START.search(p))]
    place = rng.choice(places)
    depth = rng.choice(DEPTHS)
    if rng.random() < 0.5:
        wrappers = [w for w in WRAPPERS if w != "div" or (line_end and not phrasing)]
        tag = rng.choice(wrappers)  # visible markup around the hidden text
        return f"<{tag}>" * depth + place.format(s=secret) + f"</{tag}>" * depth
    if place.startswith("<![CDATA["):
        return place.format(s=secret)  # a CDATA section ends at its first `>` in HTML
    # the hidden text deep inside the hidden element
    return place.format(s="<span>" * depth + secret + "</span>" * depth)


def hidden_pages(count: int, seed: int = SEED):
    rng = random.Random(seed)
    bases = article_bases()
    for n in range(count):
        base, record = bases[n % len(bases)]
        text = base.body.decode("utf-8")
        points = insertion_points(text)
        for _ in range(rng.randint(1, 4)):
            at = rng.choice(points)
            snippet = hidden_snippet(
                rng, n, phrasing=in_phrasing(text, at), line_end=text.startswith("<br", at)
            )
            text = text[:at] + snippet + text[at:]
            points = [p if p <= at else p + len(snippet) for p in points]
        yield f"{base.name}#{n}", base.url, text.encode("utf-8"), record


def check_page(name: str, url: str, body: bytes, untouched: ArticleRecord) -> list[str]:
    try:
        record = parse_article(body, url, CAPTURE_BASE)
    except NotAnArticle:
        return []
    problems = []
    containers = seen_containers(body)
    if len(containers) != 1:
        problems.append(f"accepted with {len(containers)} containers a reader sees")
    else:
        problems += unseen_in_record(record, visible_text(containers[0]))
    if record.content_hash != untouched.content_hash:
        problems.append(
            f"record changed: {len(record.body)} paragraphs for {len(untouched.body)}"
        )
    if any("XYZ" in value for value in (record.headline, *record.body, *record.subheadlines)):
        problems.append("hidden text in the record")
    return [f"{name}: {problem}" for problem in problems]


def test_the_test_sees_every_base_record_as_visible_container_text() -> None:
    for base, record in article_bases():
        containers = seen_containers(base.body)
        assert len(containers) == 1, base.name
        assert unseen_in_record(record, visible_text(containers[0])) == [], base.name


@pytest.mark.parametrize("shard", range(4))
def test_hidden_text_never_reaches_a_record(shard: int) -> None:
    """1,200 pages: each hiding place at many positions and depths, on both designs."""
    problems: list[str] = []
    for name, url, body, untouched in hidden_pages(300, seed=SEED + shard):
        problems += check_page(name, url, body, untouched)
    assert problems == [], f"{len(problems)} problems, e.g. {problems[:5]}"


@pytest.mark.parametrize("place", range(len(HIDING_PLACES)))
def test_each_hiding_place_is_read_as_hidden(place: int) -> None:
    """Each hiding place inside every base page's body: the untouched record, not a refusal."""
    for base, untouched in article_bases()[:8]:
        text = base.body.decode("utf-8")
        snippet = HIDING_PLACES[place].format(s=SECRET.format(n=place))
        points = [p for p in insertion_points(text)
                  if not (BLOCK_START.search(snippet) and in_phrasing(text, p))]
        at = sorted(points)[len(points) // 2]
        body = text[:at] + snippet + text[at:]
        record = parse_article(body.encode("utf-8"), base.url, CAPTURE_BASE)
        assert record.content_hash == untouched.content_hash, base.name


# --- two bodies, text after the end -----------------------------------------------------------

# A second article body a reader sees, in either design's shape: the page is refused.
SECOND_BODIES = (
    '<div class="viewer"><article itemprop="articleBody">{s}<br><br>{s}</article></div>',
    '<article itemprop="articleBody">{s}</article>',
    '<div class="article_bx"><div class="view_text"><div id="textBody">{s}</div></div></div>',
)


def second_body_pages(seed: int, count: int):
    """Pages with a visible second body inside, before or after the article, or nested in it."""
    rng = random.Random(seed)
    bases = article_bases()
    for n in range(count):
        base, _ = bases[n % len(bases)]
        text = base.body.decode("utf-8")
        inside = [p for p in insertion_points(text)
                  if text.startswith("<br", p) and not in_phrasing(text, p)]
        outside = [text.index('<div class="rankBox">'), text.index("</body>"),
                   text.index('<div id="wrap">')]
        at = rng.choice(inside + outside)
        snippet = rng.choice(SECOND_BODIES).format(s=SECRET.format(n=n))
        yield f"{base.name}#{n} at {at}", base.url, text[:at] + snippet + text[at:]


def test_a_page_with_two_article_bodies_is_refused() -> None:
    accepted = []
    for name, url, page in second_body_pages(SEED, 240):
        try:
            record = parse_article(page.encode("utf-8"), url, CAPTURE_BASE)
        except NotAnArticle as error:
            assert "bod" in error.reason or "closed" in error.reason, (name, error.reason)
            continue
        accepted.append(f"{name}: {len(record.body)} paragraphs")
    assert accepted == []


def test_text_after_the_closing_line_refuses_the_page() -> None:
    refused = 0
    for base, untouched in article_bases():
        text = base.body.decode("utf-8")
        closing = text.find("◎공감언론 뉴시스")
        if closing < 0 or not untouched.body:
            continue
        at = text.index("<br", closing)
        for extra in ("<br><br>두 번째 기사가 이어진다.", "<p>다른 기사</p>", "<br>추가 문단"):
            with pytest.raises(NotAnArticle, match="closing line"):
                parse_article((text[:at] + extra + text[at:]).encode(), base.url, CAPTURE_BASE)
            refused += 1
    assert refused >= 30


def test_what_follows_the_end_of_the_document_is_not_content() -> None:
    """A browser shows it at the end of the page, outside the article: the untouched record,
    or a refusal when it holds a second article body."""
    for base, untouched in article_bases():
        for extra in ("<p>{s}</p>", "{s}", "<div><b>{s}</b></div>\n{s}"):
            page = base.body + extra.format(s=SECRET.format(n=0)).encode()
            record = parse_article(page, base.url, CAPTURE_BASE)
            assert record.content_hash == untouched.content_hash, base.name
        second = '<div class="viewer"><article itemprop="articleBody">{s}</article></div>'
        with pytest.raises(NotAnArticle, match="bodies"):
            parse_article(base.body + second.format(s="둘째").encode(), base.url, CAPTURE_BASE)


def test_text_shown_again_inside_an_invisible_block_is_kept() -> None:
    """`visibility` is inherited and a descendant may set it back: what it holds is seen."""
    for base, untouched in article_bases()[:12]:
        if not untouched.body:
            continue  # a photo item has no body
        text = base.body.decode("utf-8")
        points = [p for p in insertion_points(text)
                  if text.startswith("<br", p) and not in_phrasing(text, p)]
        at = points[len(points) // 2]
        snippet = (
            '<div style="visibility:hidden">숨은글1XYZ'
            '<p style="visibility: visible">다시 보이는 문단<span>도 함께</span></p>'
            '숨은글2XYZ<span style="display:none">'
            '<b style="visibility:visible">숨은글3XYZ</b></span></div>'
        )
        record = parse_article((text[:at] + snippet + text[at:]).encode(), base.url, CAPTURE_BASE)
        assert "다시 보이는 문단도 함께" in record.body, base.name
        assert not any("XYZ" in paragraph for paragraph in record.body), base.name
        assert len(record.body) == len(untouched.body) + 1, base.name
