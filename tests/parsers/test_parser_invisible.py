"""Issue 16 #16: invisible and bidirectional control characters never reach a record's text."""

from __future__ import annotations

import random
import re
import unicodedata

import pytest

from crawler.parsers import text as kt
from crawler.publishers import parse_article
from tests.support.storage_fixtures import example_page

INVISIBLE = (
    [chr(c) for c in range(0x202A, 0x202F)]  # embeddings and overrides
    + [chr(c) for c in range(0x200B, 0x2010)]  # zero-width spaces, joiners, marks
    + [chr(c) for c in range(0x2060, 0x2065)]  # word joiner, invisible operators
    + [chr(c) for c in range(0x2066, 0x206A)]  # isolates
    + ["\ufeff", "\u061c", "\u00ad", "\u180e", "\u034f"]
    + ["\u115f", "\u1160", "\u3164", "\uffa0"]  # Hangul fillers
    + [chr(c) for c in range(0xE0000, 0xE0080, 7)] + ["\U000e0001", "\U000e007f"]  # tags
    + ["\ufe00", "\ufe0e", "\ufe0f", "\U000e0100", "\U000e01ef"]  # selectors after Hangul
    + ["\x01", "\x1b", "\x7f", "\x85", "\x9f", "\ufff9", "\U0001d173"]
)
# Every format character Python knows, as a check on the list above.
FORMAT = {chr(c) for c in range(0x110000) if unicodedata.category(chr(c)) == "Cf"}
VISIBLE_RE = re.compile("[\u0000-\u0008\u000e-\u001f\u007f-\u009f\u115f\u1160\u3164\uffa0]")


def hangul_gaps(text: str, start: int, end: int) -> list[int]:
    """Offsets between two Hangul syllables in text[start:end]: inside every field's words."""
    return [
        i for i in range(start + 1, end)
        if "가" <= text[i - 1] <= "힣" and "가" <= text[i] <= "힣"
    ]


def strings(value) -> list[str]:
    if isinstance(value, str):
        return [value]
    if isinstance(value, dict):
        return [s for item in value.values() for s in strings(item)]
    if isinstance(value, (list, tuple)):
        return [s for item in value for s in strings(item)]
    return []


def invisible_in(record: dict) -> list[str]:
    found = []
    for value in strings({k: v for k, v in record.items() if not k.endswith("_at")}):
        for char in value:
            if char in FORMAT or VISIBLE_RE.match(char) or "\ufe00" <= char <= "\ufe0f" or (
                "\U000e0100" <= char <= "\U000e01ef"
            ):
                found.append(f"U+{ord(char):04X} in {value[:40]!r}")
    return found


@pytest.mark.parametrize("name", ["seed-l3", "older-l2", "photo-item"])
def test_invisible_characters_anywhere_in_the_text_are_dropped(name):
    raw, url, _ = example_page(name)
    text = raw.decode("utf-8")
    expected = parse_article(raw, url).to_dict()
    # The page's fields: from the headline (or the section menu) to the end of the body.
    start = min(i for i in (text.find('class="top"'), text.find('class="subMenu"')) if i >= 0)
    gaps = hangul_gaps(text, start, text.rfind("</html>"))
    rng = random.Random(name)
    wrong = []
    for char in INVISIBLE + sorted(FORMAT):
        chosen = sorted(rng.sample(gaps, min(40, len(gaps))), reverse=True)
        page = text
        for offset in chosen:
            page = page[:offset] + char + page[offset:]
        record = parse_article(page.encode("utf-8"), url).to_dict()
        wrong.extend(f"U+{ord(char):04X}: {problem}" for problem in invisible_in(record))
        if record != expected:
            wrong.append(f"U+{ord(char):04X}: the record changed")
    assert wrong == []


def test_every_character_is_cleaned_at_every_position_of_a_string():
    word = "뉴시스 기자"
    for char in INVISIBLE + sorted(FORMAT):
        for at in range(len(word) + 1):
            cleaned = kt.clean_text(word[:at] + char + word[at:])
            assert cleaned == word, (hex(ord(char)), at, cleaned)
        assert kt.clean_text(char * 3) == ""


def test_selectors_that_mean_something_are_kept():
    assert kt.clean_text("☺\ufe0f") == "☺\ufe0f"
    assert kt.clean_text("1\ufe0f\u20e3") == "1\ufe0f\u20e3"
    assert kt.clean_text("葛\U000e0100") == "葛\U000e0100"
    assert kt.clean_text("한\ufe0f글") == "한글"
