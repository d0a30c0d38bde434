"""Which CSS hides text: an element's inline declarations and the page's own style sheets."""

from __future__ import annotations

import re

from lxml import etree

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


def apply_style_sheets(root: etree._Element) -> None:
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
    for selectors, block in _top_level_rules(text):
        if not style_hides(block):
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


def style_hides(style: str) -> bool:
    """Whether an inline style makes its element's text invisible."""
    return hides_text(declarations(style))


def declarations(style: str) -> dict[str, str]:
    """The declarations of an inline style: the last one wins, unless an earlier one is
    `!important`."""
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
    return declared


def hides_text(declared: dict[str, str], visibility: bool = True) -> bool:
    get = declared.get
    if get("display") == "none":
        return True
    if visibility and get("visibility") in ("hidden", "collapse"):
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
