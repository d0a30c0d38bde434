"""What a reader sees of a page: a parse that reaches the page's end, hidden subtrees removed."""

from __future__ import annotations

import re
import secrets

from lxml import etree

from crawler.parsers.errors import NotAnArticle

# Elements whose content a reader never sees as text: raw-text and fallback content, embedded
# documents, form controls, graphics (RECORD.md § Body: scripts, styles, iframes are not body).
HIDDEN_TAGS = frozenset(
    {"template", "script", "style", "noscript", "noembed", "noframes", "textarea", "select",
     "datalist", "object", "embed", "iframe", "frame", "frameset", "svg", "math", "canvas",
     "video", "audio", "head", "title", "rp", "param", "source", "track"}
)
# Utility classes that hide text visually (`.blind` is the Korean portals' screen-reader class).
HIDING_CLASSES = frozenset(
    {"hidden", "hide", "blind", "sr-only", "sr_only", "screen_out", "visually-hidden",
     "visuallyhidden", "invisible", "d-none", "display-none", "offscreen"}
)
_CSS_COMMENT = re.compile(r"/\*.*?(?:\*/|$)", re.S)
_ZERO = re.compile(r"^[+-]?(?:0+(?:\.0*)?|\.0+)(?:[a-z]+|%)?$")
_LENGTH = re.compile(r"^(-?\d+(?:\.\d+)?)(?:px|em|rem|pt|vw|vh|%)?$")
# A page's own style sheets: braces, selector parts.
_BRACE = re.compile(r"[{}]")
_COMBINATOR = re.compile(r"\s*[\s>+~]\s*")
_COMPOUND = re.compile(r"(?P<tag>[A-Za-z][\w-]*)?(?P<rest>(?:[.#][\w-]+)+)?")
_SIMPLE = re.compile(r"([.#])([\w-]+)")
MAX_STYLE_CHARS = 200_000
CLASSED_OR_IDED = etree.XPath("//@class/.. | //@id/..")
# Far off the left/top edge: the classic `left:-9999px` / `text-indent:-9999px` hiding.
OFFSCREEN = -999

# --- the page's end -------------------------------------------------------------------------------
_HTML_END_RE = re.compile(rb"</html\s*>", re.I)
_BODY_END_RE = re.compile(rb"</body\s*>", re.I)
END_WINDOW = 16384
END_TAG = "newsarchive-end"
# Elements that may follow `</body>` without being read as page content: browsers move them
# into the body, libxml2 keeps them after it; none of them shows text.
AFTER_BODY_TAGS = HIDDEN_TAGS | {"link", "meta", "base", END_TAG}


def parse_whole(
    data: bytes, watched: tuple[str, ...] = ()
) -> tuple[etree._Element, list[etree._Element]]:
    """The page's tree, refused unless libxml2 read it to its real closing `</html>`.

    A marker element goes right before the last `</html>` of the raw page. It is found in the
    tree only when that `</html>` was markup, not text in a script, comment or attribute of a
    page cut short, and libxml2 did not stop early (depth limit, a stray `</html>` before it).
    Markers also follow each end tag of the `watched` elements and precede the last `</body>`.
    Returns the root and the markers found (see `left_open`).
    """
    nonce = secrets.token_hex(8)
    marker = f"<{END_TAG} n={nonce}></{END_TAG}>".encode()
    # Where markers go: after each watched end tag; before the last `</body>` (libxml2 closes
    # every open element there, a never-closed container included; a stray `</body>` earlier is
    # refused on its own); before the last `</html>`, where the one that proves the end goes.
    tail = max(0, len(data) - END_WINDOW)
    html_ends = [m.start() for m in _HTML_END_RE.finditer(data, tail)]
    if not html_ends:
        raise NotAnArticle("truncated page (no closing </html>)")
    body_ends = [m.start() for m in _BODY_END_RE.finditer(data, tail)]
    after = _end_tags(data, watched)
    last = marker.replace(b" n=", b" last n=", 1)
    inserts = [(at, marker) for at in after] + [(at, marker) for at in body_ends[-1:]]
    inserts.append((html_ends[-1], last))
    root = _parse(_insert(data, sorted(inserts, key=lambda item: item[0])))
    markers = [found for found in root.iter(END_TAG) if found.get("n") == nonce]
    if not any(found.get("last") is not None for found in markers):
        raise NotAnArticle("truncated page (its last </html> is not the document's end)")
    if len(markers) < len(inserts):
        # Some end tag was text (in a script, an attribute, `<xmp>`): its marker must not show.
        _scrub(root, (marker.decode(), last.decode()))
    _refuse_content_after_body(root)
    _into_body(root)
    _apply_style_sheets(root)
    return root, markers


def _into_body(root: etree._Element) -> None:
    """Move what follows `</html>` to the end of the body, where a browser shows it: libxml2
    makes it a second document tree that every `//` selector would search as well."""
    body = root.find("body")
    for extra in list(root.itersiblings()):
        if body is None or extra.tag != "html":
            continue
        if extra.text and extra.text.strip():
            last = body[-1] if len(body) else None
            if last is None:
                body.text = (body.text or "") + extra.text
            else:
                last.tail = (last.tail or "") + extra.text
        body.extend(list(extra))


def _end_tags(data: bytes, tags: tuple[str, ...]) -> list[int]:
    """Where each end tag of `tags` (any case) ends. Searched in a lower-cased copy: a
    case-sensitive pattern scans a page several times faster, and lower-casing keeps offsets."""
    if not tags:
        return []
    names = b"|".join(re.escape(tag.lower().encode()) for tag in tags)
    return [m.end() for m in re.finditer(rb"</(?:%s)\s*>" % names, data.lower())]


def _insert(data: bytes, inserts: list[tuple[int, bytes]]) -> bytes:
    parts = []
    start = 0
    for at, text in inserts:
        parts += [data[start:at], text]
        start = at
    parts.append(data[start:])
    return b"".join(parts)


def left_open(container: etree._Element, markers: list[etree._Element]) -> bool:
    """Whether the container holds a marker: libxml2 left it open past its own end tag or to the
    page's end (it ignores an end tag while an element it ranks higher, a `div`, is open; a
    browser does not, and shows what follows outside the container). Markers in hidden subtrees
    already dropped do not count: what they held is not read."""
    return any(container in found.iterancestors() for found in markers)


def _scrub(root: etree._Element, markers: tuple[str, ...]) -> None:
    """Take the markers' text out of every text node and attribute that holds one."""
    found = etree.XPath(
        "//text()[contains(., $m)] | //@*[contains(., $m)]", smart_strings=True
    )
    # Not a set: equal strings of different nodes would be cleaned once only.
    for value in [hit for text in markers for hit in found(root, m=text)]:
        cleaned = str(value)
        for text in markers:
            cleaned = cleaned.replace(text, "")
        owner = value.getparent()
        if value.is_attribute:
            owner.set(value.attrname, cleaned)
        elif value.is_tail:
            owner.tail = cleaned
        else:
            owner.text = cleaned


def _parse(data: bytes) -> etree._Element:
    parser = etree.HTMLParser(
        encoding="utf-8", remove_comments=True, remove_pis=True, no_network=True,
        recover=True, huge_tree=True, default_doctype=False, collect_ids=False,
    )
    try:
        root = etree.fromstring(data, parser)
    except (etree.LxmlError, ValueError) as error:
        raise NotAnArticle("unparseable page") from error
    if root is None:
        raise NotAnArticle("unparseable page")
    fatal = [entry.message for entry in parser.error_log if entry.level_name == "FATAL"]
    if fatal:
        if any("depth" in message.lower() for message in fatal):
            raise NotAnArticle("page nested too deeply to read whole")
        raise NotAnArticle(f"page not read whole: {fatal[0]}")
    return root


def _refuse_content_after_body(root: etree._Element) -> None:
    """A stray `</body>` makes libxml2 put the rest of the page after the body (a browser keeps
    it in the open elements, the article among them): such a page cannot be read whole."""
    body = root.find("body")
    if body is None:
        return
    if body.tail and body.tail.strip():
        raise NotAnArticle("content after </body>")
    for element in body.itersiblings():
        tag = element.tag
        if isinstance(tag, str) and tag not in AFTER_BODY_TAGS:
            raise NotAnArticle("content after </body>")
        if element.tail and element.tail.strip():
            raise NotAnArticle("content after </body>")


# --- hidden subtrees ------------------------------------------------------------------------------


def _apply_style_sheets(root: etree._Element) -> None:
    """Mark `hidden` the elements a page's own `<style>` rules hide (`.x { display: none }`).

    Rules inside at-rules (`@media`) apply on some screens only and are left out; a selector
    counts by its last compound (`tag`, `.class`, `#id`), its context ignored: a page hides
    more, never less, than a browser would.
    """
    sheets = [element.text for element in root.iter("style") if element.text]
    if not sheets:
        return
    tags: set[str] = set()
    # Each compound filed under one name it requires (`.class` or `#id`): an element is tested
    # against the compounds of its own names only, however many rules a sheet holds.
    compounds: dict[str, set[tuple[str | None, frozenset[str], str | None]]] = {}
    # One budget for all sheets; "}" between them closes a block a sheet left open.
    text = _CSS_COMMENT.sub("", "}".join(sheets)[:MAX_STYLE_CHARS])
    for selectors, declarations in _top_level_rules(text):
        if not style_hides(declarations):
            continue
        for selector in selectors.split(","):
            compound = _COMPOUND.fullmatch(_COMBINATOR.split(selector.strip())[-1])
            if compound is None:
                continue
            tag = (compound["tag"] or "").lower() or None
            parts = _SIMPLE.findall(compound["rest"] or "")
            classes = frozenset(name for kind, name in parts if kind == ".")
            ids = [name for kind, name in parts if kind == "#"]
            if tag and not parts:
                tags.add(tag)
            elif parts:
                key = "".join(parts[0])
                compounds.setdefault(key, set()).add((tag, classes, ids[0] if ids else None))
    hidden = [element for element in root.iter(*tags)] if tags else []
    if compounds:
        for element in CLASSED_OR_IDED(root):
            names = ["." + name for name in (element.get("class") or "").split()]
            names.append("#" + (element.get("id") or ""))
            if any(_matches(element, compound)
                   for name in names for compound in compounds.get(name, ())):
                hidden.append(element)
    for element in hidden:
        element.set("hidden", "")


def _top_level_rules(sheet: str) -> list[tuple[str, str]]:
    """(selectors, declarations) of each rule outside at-rules, in one pass over the braces (a
    regex over a hostile sheet without braces would try every start position)."""
    rules = []
    depth = 0
    nested = False
    prelude_start = body_start = 0
    prelude = ""
    for brace in _BRACE.finditer(sheet):
        if brace[0] == "{":
            if depth == 0:
                prelude = sheet[prelude_start:brace.start()].rpartition(";")[2]
                body_start, nested = brace.end(), False
            else:
                nested = True
            depth += 1
        elif depth:
            depth -= 1
            if depth == 0:
                if not nested and "@" not in prelude:
                    rules.append((prelude, sheet[body_start:brace.start()]))
                prelude_start = brace.end()
        else:
            prelude_start = brace.end()  # a stray `}` ends whatever came before it
    return rules


def _matches(element: etree._Element, compound: tuple) -> bool:
    tag, classes, element_id = compound
    if tag is not None and element.tag != tag:
        return False
    if element_id is not None and element.get("id") != element_id:
        return False
    return classes <= set((element.get("class") or "").split())


def drop_hidden(element: etree._Element) -> None:
    """Remove every subtree inside `element` that a reader does not see; text after each stays.

    Only the parts a record is read from are walked (the article container, the headline),
    not the whole page: the page's chrome is most of its elements.
    """
    found = [node for node in element.iter(etree.Element) if node is not element and _hides(node)]
    # Reverse document order: a subtree is dropped after the hidden ones inside it.
    for node in reversed(found):
        if node.tag == "details" and not is_hidden(node):
            _keep_summary_only(node)
        else:
            drop_tree(node)


def is_shown(element: etree._Element) -> bool:
    """Whether a reader sees the element: neither it nor an ancestor hides it."""
    child = None
    for node in (element, *element.iterancestors()):
        if node.tag == "details" and _hides(node):
            if child is None or child.tag != "summary":
                return False
        elif _hides(node):
            return False
        child = node
    return True


def _hides(node: etree._Element) -> bool:
    tag = node.tag
    if tag in HIDDEN_TAGS:
        return True
    if tag in ("dialog", "details") and node.get("open") is None:
        return True
    return is_hidden(node)


def is_hidden(element: etree._Element) -> bool:
    """Whether the element's own attributes hide it (not its tag, not its ancestors)."""
    names = element.keys()
    if not names:
        return False  # most elements: one call instead of four
    if "hidden" in names:
        return True
    if (element.get("aria-hidden") or "").strip().lower() == "true":
        return True
    classes = element.get("class")
    if classes and not HIDING_CLASSES.isdisjoint(classes.lower().split()):
        return True
    style = element.get("style")
    return bool(style) and style_hides(style)


def style_hides(style: str) -> bool:
    """Whether an inline style makes its element's text invisible (the last declaration wins,
    unless an earlier one is `!important`)."""
    declared: dict[str, str] = {}
    important: set[str] = set()
    for declaration in _CSS_COMMENT.sub("", style).lower().split(";"):
        name, colon, value = declaration.partition(":")
        if not colon:
            continue
        name = name.strip()
        value = " ".join(value.split())
        is_important = value.endswith("important") and "!" in value
        if is_important:
            value = value[: value.rindex("!")].strip()
        if name in important and not is_important:
            continue
        declared[name] = value
        if is_important:
            important.add(name)
    return _declared_hidden(declared)


def _declared_hidden(declared: dict[str, str]) -> bool:
    get = declared.get
    if get("display") == "none" or get("visibility") in ("hidden", "collapse"):
        return True
    if get("content-visibility") == "hidden":
        return True
    if _is_zero(get("opacity")) or _is_zero(get("font-size")):
        return True
    if get("overflow") in ("hidden", "clip") and any(
        _is_zero(get(name)) for name in ("height", "max-height", "width", "max-width")
    ):
        return True
    if get("position") in ("absolute", "fixed") and any(
        _offscreen(get(name)) for name in ("left", "top")
    ):
        return True
    return _offscreen(get("text-indent"))


def _is_zero(value: str | None) -> bool:
    return value is not None and _ZERO.match(value.replace(" ", "")) is not None


def _offscreen(value: str | None) -> bool:
    if not value:
        return False
    match = _LENGTH.match(value.replace(" ", ""))
    return match is not None and float(match.group(1)) <= OFFSCREEN


def _keep_summary_only(details: etree._Element) -> None:
    """A closed `<details>` shows its `<summary>` only."""
    details.text = None
    for child in list(details):
        if child.tag == "summary":
            child.tail = None
        else:
            child.tail = None
            details.remove(child)


def drop_tree(element: etree._Element) -> None:
    """Remove the element and its subtree; its tail (text after it) stays in place."""
    parent = element.getparent()
    if parent is None:
        return
    tail = element.tail
    if tail:
        previous = element.getprevious()
        if previous is None:
            parent.text = (parent.text or "") + tail
        else:
            previous.tail = (previous.tail or "") + tail
    parent.remove(element)
