"""What a reader sees of a page: a parse that reaches the page's end, hidden subtrees removed."""

from __future__ import annotations

import functools
import re
import secrets

from lxml import etree

from crawler.parsers.css import apply_style_sheets, declarations, hides_text
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

# --- the page's end -------------------------------------------------------------------------------
# What closes an end tag after its name (`</html >`).
_CLOSE_RE = re.compile(rb"\s*>")
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
    # The last `</html>` and `</body>`: `rfind` in a lower-case copy of the page's end costs a
    # fifth of a case-blind regex that finds them all.
    window = data[tail:].lower()
    html_end = _last_end_tag(window, b"html", tail)
    if html_end is None:
        raise NotAnArticle("truncated page (no closing </html>)")
    body_end = _last_end_tag(window, b"body", tail)
    after = _end_tags(data, watched)
    last = marker.replace(b" n=", b" last n=", 1)
    inserts = [(at, marker) for at in after]
    if body_end is not None:
        inserts.append((body_end, marker.replace(b" n=", b" body n=", 1)))
    inserts.append((html_end, last))
    root = _parse(_insert(data, sorted(inserts, key=lambda item: item[0])))
    markers = [found for found in root.iter(END_TAG) if found.get("n") == nonce]
    if not any(found.get("last") is not None for found in markers):
        raise NotAnArticle("truncated page (its last </html> is not the document's end)")
    if body_end is not None and not any(found.get("body") is not None for found in markers):
        # The last `</body>` was no end tag: a page cut inside a tag (`<figure cla</body>`)
        # and "repaired" swallows it, and libxml2 closes the article at the page's end.
        raise NotAnArticle("truncated page (its last </body> is not markup)")
    if len(markers) < len(inserts):
        # Some end tag was text (in a script, an attribute, `<xmp>`): its marker must not show.
        _scrub(root, (marker.decode(), last.decode()))
    _refuse_content_after_body(root)
    _into_body(root)
    apply_style_sheets(root)
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
    """Where each end tag of `tags` (any case) ends."""
    if not tags:
        return []
    return [m.end() for m in _end_tag_pattern(tags).finditer(data)]


@functools.cache
def _end_tag_pattern(tags: tuple[str, ...]) -> re.Pattern[bytes]:
    names = b"|".join(re.escape(tag.lower().encode()) for tag in tags)
    return re.compile(rb"</(?:%s)\s*>" % names, re.IGNORECASE)


def _last_end_tag(window: bytes, name: bytes, offset: int) -> int | None:
    """Where in the page the last end tag `name` of a lower-case `window` at `offset` begins."""
    opening = b"</" + name
    end = len(window)
    while (at := window.rfind(opening, 0, end)) >= 0:
        if _CLOSE_RE.match(window, at + len(opening)):
            return offset + at
        end = at
    return None


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


_CONTROLS_RE = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f]")


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
        # libxml2 keeps C0 controls it read, lxml refuses to set them: they show nothing.
        cleaned = _CONTROLS_RE.sub("", cleaned)
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


def drop_hidden(element: etree._Element) -> None:
    """Remove every subtree inside `element` that a reader does not see; text after each stays.

    Only the parts a record is read from are walked (the article container, the headline),
    not the whole page: the page's chrome is most of its elements. `visibility` is inherited
    and a descendant may set it back to `visible`: its text is blanked, its subtree kept.
    """
    found = []
    reshown = False
    for node in element.iter(etree.Element):
        if node is element:
            continue
        if _hides(node, visibility=False):
            found.append(node)
        elif visibility_of(node) == "hidden":
            # Dropped whole like the rest, unless something inside shows itself again.
            if any(visibility_of(inner) == "visible" for inner in node.iterdescendants()):
                reshown = True
            else:
                found.append(node)
    # Reverse document order: a subtree is dropped after the hidden ones inside it.
    for node in reversed(found):
        if node.tag == "details" and not is_hidden(node):
            _keep_summary_only(node)
        else:
            drop_tree(node)
    if reshown:
        _blank_invisible(element)


def _blank_invisible(element: etree._Element) -> None:
    """Blank the text of every node whose inherited `visibility` is hidden (iterative)."""
    stack = [(element, False)]
    while stack:
        node, inherited = stack.pop()
        own = visibility_of(node)
        invisible = own == "hidden" or (own is None and inherited)
        if invisible:
            node.text = None
        for child in node.iterchildren(etree.Element):
            if invisible:
                child.tail = None  # a child's tail is its parent's text
            stack.append((child, invisible))


def is_shown(element: etree._Element) -> bool:
    """Whether a reader sees the element: neither it nor an ancestor hides it, and the nearest
    `visibility` declared on the way up is not `hidden`."""
    child = None
    visibility = None
    for node in (element, *element.iterancestors()):
        if node.tag == "details" and _hides(node, visibility=False):
            if child is None or child.tag != "summary":
                return False
        elif _hides(node, visibility=False):
            return False
        visibility = visibility or visibility_of(node)
        child = node
    return visibility != "hidden"


def _hides(node: etree._Element, visibility: bool = True) -> bool:
    tag = node.tag
    if tag in HIDDEN_TAGS:
        return True
    if tag in ("dialog", "details") and node.get("open") is None:
        return True
    return is_hidden(node, visibility)


def is_hidden(element: etree._Element, visibility: bool = True) -> bool:
    """Whether the element's own attributes hide it (not its tag, not its ancestors);
    `visibility=False` leaves its `visibility` style out (see `visibility_of`)."""
    # One call for all attributes, most elements have one or two (libxml2 keeps one of each name).
    style = None
    for name, value in element.items():
        if name == "hidden":
            return True
        if name == "aria-hidden":
            if value.strip().lower() == "true":
                return True
        elif name == "class":
            if value and not HIDING_CLASSES.isdisjoint(value.lower().split()):
                return True
        elif name == "style":
            style = value
    return bool(style) and hides_text(declarations(style), visibility)


def visibility_of(element: etree._Element) -> str | None:
    """"hidden" or "visible" when the element's inline style sets `visibility`, else None."""
    style = element.get("style")
    if not style or "visib" not in style.lower():
        return None
    value = declarations(style).get("visibility")
    if value in ("hidden", "collapse"):
        return "hidden"
    return "visible" if value == "visible" else None


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
