"""The newsroom's changes to one article: edits, touches, photo re-stamps, takedowns, restores."""

from __future__ import annotations

import re
from dataclasses import replace
from datetime import datetime, timedelta

from crawler.localsite.model import SiteArticle
from crawler.localsite.wording import PHOTO_ACTIONS, PLACES, _paragraph, _rng

EDITS = ("headline", "paragraph", "caption")
# How a deleted article answers: "newsis" as the real site (current design: 302 to /error/;
# older design: the GISA FILE NOT EXISTS page with 200), or one status for every design.
GONE_ANSWERS = ("newsis", "302", "200", "404", "410")
# Yonhap (STRUCTURE.md § Errors, assumed): "yonhap" as the real site (404 with its error page),
# "script" (200, a page whose script alerts and goes home), or one status.
YONHAP_GONE_ANSWERS = ("yonhap", "script", "404", "410")
GONE_ANSWERS_OF = {"newsis": GONE_ANSWERS, "yonhap": YONHAP_GONE_ANSWERS}


def check_gone(publisher: str, gone: str) -> str:
    """`gone` when it is one of the publisher's answers for a deleted article; else ValueError."""
    answers = GONE_ANSWERS_OF[publisher]
    if gone not in answers:
        raise ValueError(f"unknown gone answer {gone!r}: use one of {', '.join(answers)}")
    return gone


def edited(article: SiteArticle, seed: int, what: str, now: datetime) -> SiteArticle:
    """The article with its headline, a paragraph or a caption changed; 수정 = `now`."""
    stamp = article.stamp(now)
    rng = _rng(seed, "edit", article.article_id, article.edits)
    if what == "headline":
        base = re.sub(r"\(종합\d+보\)$", "", article.headline)
        article = replace(article, headline=f"{base}(종합{article.edits + 2}보)")
    elif what == "paragraph":
        if not article.body:
            raise ValueError(f"{article.article_id} has no paragraph to edit")
        body = list(article.body)
        number = rng.randrange(len(body))
        body[number] = f"{body[number]} {_paragraph(rng, '추가 확인 내용')}"
        article = replace(article, body=tuple(body))
    elif what == "caption":
        if not article.photos:
            raise ValueError(f"{article.article_id} has no photo caption to edit")
        photo = article.photos[0]
        text = f"{rng.randint(1, 28)}일 {rng.choice(PLACES)}에서 {rng.choice(PHOTO_ACTIONS)}"
        if text == photo.text:
            text = "이날 " + text
        article = replace(article, photos=(replace(photo, text=text), *article.photos[1:]))
    else:
        raise ValueError(f"unknown edit {what!r}: use {', '.join(EDITS)}")
    return replace(
        article,
        modified_at=stamp,
        changed_at=now,
        edits=article.edits + 1,
        version=article.version + 1,
    )


def touched(article: SiteArticle, now: datetime) -> SiteArticle:
    """The article with a new 수정 time and every content field as it was."""
    stamp = article.stamp(now)
    if article.modified_at is not None and stamp <= article.modified_at:
        raise ValueError(f"{article.article_id} was already edited at {stamp}: advance the clock")
    return replace(article, modified_at=stamp, changed_at=now, version=article.version + 1)


def restamped(article: SiteArticle, now: datetime) -> SiteArticle:
    """The article's photos with a new ?rnd= stamp: the page changes, its record does not."""
    if not article.photos:
        raise ValueError(f"{article.article_id} has no photo")
    photos = []
    for number, photo in enumerate(article.photos):
        rnd = (now + timedelta(seconds=number)).strftime("%Y%m%d%H%M%S")
        if rnd <= photo.rnd:
            rnd = str(int(photo.rnd) + 1)
        photos.append(replace(photo, rnd=rnd))
    return replace(article, photos=tuple(photos), changed_at=now, version=article.version + 1)


def deleted(article: SiteArticle, now: datetime, gone: str | None) -> SiteArticle:
    if gone is not None:
        check_gone(article.publisher, gone)
    if article.deleted:
        raise ValueError(f"{article.article_id} is already deleted")
    return replace(
        article, deleted=True, gone=gone, changed_at=now, version=article.version + 1
    )


def restored(
    article: SiteArticle, seed: int, now: datetime, what: str | None = None
) -> SiteArticle:
    """The deleted article back under its id; with `what`, edited as it comes back."""
    if not article.deleted:
        raise ValueError(f"{article.article_id} is not deleted")
    article = replace(
        article, deleted=False, gone=None, changed_at=now, version=article.version + 1
    )
    return edited(article, seed, what, now) if what else article
