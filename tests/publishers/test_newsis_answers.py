"""Newsis' answers: which ones say an article is gone, which ones say nothing about it."""

from __future__ import annotations

import pytest

from crawler.localsite.pages import Chrome, render_error
from crawler.publishers.newsis.answers import is_gone

URL = "http://127.0.0.1:8000/view/NISX20241115_0002960118"
ERROR_PAGE = render_error(Chrome(1, []))


@pytest.mark.parametrize(
    ("status", "location", "body"),
    [
        (302, "http://127.0.0.1:8000/error/", b""),
        (302, "https://www.newsis.com/error/", b""),
        (301, "/error", b""),
        (404, None, b"not found"),
        (410, None, b""),
        (200, None, ERROR_PAGE),
    ],
)
def test_answers_that_say_the_article_was_taken_down(status, location, body) -> None:
    assert is_gone(status, location, body, URL)


@pytest.mark.parametrize(
    ("status", "location", "body"),
    [
        (None, None, b""),  # no answer at all (timeout, reset)
        (500, None, ERROR_PAGE),
        (503, None, b""),
        (429, None, b""),
        (403, None, b""),
        (304, None, b""),
        (302, "http://evil.example/error/", b""),
        (302, "http://127.0.0.1:8000/view/NISX20241115_0002960119", b""),
        (200, None, b'<html><div class="g-recaptcha"></div> GISA FILE NOT EXISTS</html>'),
        (200, None, "<html><article>기사 본문</article></html>".encode()),
    ],
)
def test_failed_fetches_and_other_answers_are_never_gone(status, location, body) -> None:
    assert not is_gone(status, location, body, URL)
