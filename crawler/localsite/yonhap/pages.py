"""The Yonhap-like article pages in the current design "Y3", the error and takedown pages."""

# The markup mirrors tests/fixtures/yonhap/examples/y3-article.html, so its long lines stay.
# ruff: noqa: E501

from __future__ import annotations

from html import escape

from crawler.localsite.model import SiteArticle
from crawler.localsite.pages import quirky_text
from crawler.localsite.yonhap.chrome import YonhapChrome

COPYRIGHT = (
    '<p class="txt-copyright adrs">제보는 카카오톡 okjebo<br>&lt;저작권자(c) 연합뉴스, 무단 전재-재배포, '
    'AI 학습 및 활용 금지&gt;<br><span class="date">{sent:%Y/%m/%d %H:%M} 송고</span>'
    '<span class="blind">{sent:%Y년%m월%d일 %H시%M분} 송고</span></p>\n'
)
AD = ('<aside class="aside-box004"><div class="ads-box" id="div-gpt-ad-1622101256521-1"><script>'
      "googletag.cmd.push(function(){googletag.display('div-gpt-ad-1622101256521-1');});</script></div></aside>\n")
ERROR_BOX = ('<div class="error-wrap01"><strong class="tit">요청하신 페이지를 찾을 수 없습니다.</strong>'
             '<p class="txt">입력하신 주소가 정확한지 다시 한번 확인해 주세요.</p><a href="/" class="btn">연합뉴스 홈</a></div>\n')
# A takedown may answer 200 with a page whose script alerts and goes home (STRUCTURE.md § Errors).
TAKEDOWN_PAGE = (
    '<!DOCTYPE html>\n<html lang="ko"><head><meta charset="UTF-8"><title>연합뉴스</title>\n'
    '<script>alert("해당 기사는 삭제되었습니다."); location.href = "/";</script>\n'
    "</head><body></body></html>\n"
).encode()


def lead_prefix(article: SiteArticle) -> str:
    """`(세종=연합뉴스) 박서윤 정하람 기자 = `, `(워싱턴·서울=연합뉴스) 김동현 특파원 고상민 기자 = `,
    or the place alone: `(서울=연합뉴스) `."""
    if not article.places:
        return ""
    prefix = f"({article.dateline}=연합뉴스) "
    words: list[str] = []
    for number, reporter in enumerate(article.reporters):
        words.append(reporter.name)
        following = article.reporters[number + 1] if number + 1 < len(article.reporters) else None
        if following is None or following.title != reporter.title:
            words.append(reporter.title)  # each title word closes a group of names
    return prefix + (" ".join(words) + " = " if words else "")


def _photo_box(photo, alt: str) -> str:
    title = f'<strong class="tit-cap">{escape(alt)}</strong>' if alt else ""
    return (
        '<div class="comp-box photo-group">\n  <figure class="image-zone01">\n'
        f'    <div class="img-con"><span class="img"><img src="{photo.src}" alt="{escape(alt)}" loading="lazy"></span>'
        '<button type="button" class="btn-zoom01"><span class="blind">크게보기</span></button></div>\n'
        f'    <figcaption class="desc-con01">{title}<p class="txt-desc">{escape(photo.caption_line())}</p></figcaption>\n'
        "  </figure>\n</div>\n"
    )


def _writer_zone(article: SiteArticle) -> str:
    cards = "".join(
        '<div class="swiper-slide"><div class="txt-con"><strong class="tit-name">'
        f'<a href="/reporter/{reporter.email.split("@")[0]}">{escape(reporter.name)}</a> {reporter.title}</strong>'
        f'<p class="txt-desk">{article.section.label}부</p></div></div>'
        for reporter in article.reporters
    )
    return ('<div class="writer-zone01" id="newsWriterCarousel01"><div class="swiper-container">'
            f'<div class="swiper-wrapper">{cards}</div></div></div>\n')


def _body(article: SiteArticle) -> str:
    parts = ['<div class="story-news article">\n']
    if article.subheadlines:
        h2s = "".join(f'<h2 class="tit01">{escape(line)}</h2>' for line in article.subheadlines)
        parts.append(f'<div class="tit-sub">{h2s}</div>\n')
    writer_at_top = article.style % 3 != 0
    if article.reporters and writer_at_top:
        parts.append(_writer_zone(article))
    if article.is_photo_item:
        parts.append(_photo_box(article.photos[0], article.headline))
    else:
        spread = max(1, len(article.body) // (len(article.photos) + 1))
        for number, paragraph in enumerate(article.body):
            for photo_no, photo in enumerate(article.photos):
                if number == photo_no * spread:
                    parts.append(_photo_box(photo, article.headline[:12] if photo_no % 2 else ""))
            text = quirky_text(paragraph, article.style, number)
            if number == 0:
                text = escape(lead_prefix(article)) + text
            parts.append(f"<p>{text}</p>\n")
            if number == 2:
                parts.append(AD)
        if article.reporters and not writer_at_top:
            parts.append(_writer_zone(article))
        if article.closing_email:
            parts.append(f"<p>{article.closing_email}<br/></p>\n")
    parts.append(COPYRIGHT.format(sent=article.published_at))
    parts.append("</div>\n")
    return "".join(parts)


def _times(article: SiteArticle) -> str:
    shown = f'<p class="txt-time01"><span class="txt">송고</span>{article.published_at:%Y-%m-%d %H:%M}</p>'
    if article.modified_at:
        # RECORD.md `modified_at`: an edit time would show as `업데이트 YYYY-MM-DD HH:MM`.
        shown += f'<p class="txt-time02"><span class="txt">업데이트</span> {article.modified_at:%Y-%m-%d %H:%M}</p>'
    return (f'<div class="update-time" id="newsUpdateTime01" data-published-time="{article.published_at:%Y-%m-%d %H:%M}">'
            f"{shown}</div>\n")


def _metas(article: SiteArticle) -> str:
    lead = (lead_prefix(article) + (article.body[0] if article.body else ""))[:90]
    image = article.photos[0].record_url if article.photos else \
        "https://r.yna.co.kr/global/home/v01/img/yonhapnews_logo_1200x800_kr01.jpg"
    return (
        f'<meta name="description" content="{escape(lead)}">\n<meta property="og:type" content="article">\n'
        f'<meta property="og:title" content="{escape(article.headline)}">\n'
        f'<meta property="og:url" content="{article.url}">\n<meta property="og:image" content="{image}">\n'
        f'<meta property="article:section" content="{article.section.label}">\n'
        f'<meta property="article:published_time" content="{article.published_at.isoformat()}">\n'
        f'<link rel="canonical" href="{article.url}">\n'
        f'<link rel="amphtml" href="{article.url.replace("/view/", "/amp/view/")}">\n'
    )


def render_article(article: SiteArticle, chrome: YonhapChrome) -> bytes:
    section = article.section
    header = (
        '<header class="title-article01">\n'
        f'<ul class="nav-path01"><li><a href="/{section.cid}/index">{section.label}</a></li>'
        f'<li><a href="/{section.cid}/all">{section.label} 전체</a></li></ul>\n'
        f'<h1 class="tit01">{escape(article.headline)}</h1>\n{_times(article)}{chrome.util_box}</header>\n'
    )
    middle = (
        '<main id="container">\n<div class="container591">\n<div class="content90">\n'
        + header
        + '<article id="articleWrap" class="article-wrap01">\n'
        + _body(article)
        + chrome.reactions
        + "</article>\n</div>\n"
        + chrome.aside
        + "</div>\n</main>\n"
    )
    return (chrome.top(f"{article.headline} | 연합뉴스", _metas(article), "page-view") + middle
            + chrome.tail).encode()


def render_error(chrome: YonhapChrome) -> bytes:
    # examples/not-found.html: chrome, div.error-wrap01, no h1.tit01, no .story-news.
    return (chrome.top("연합뉴스", "", "page-error")
            + f'<main id="container">\n{ERROR_BOX}</main>\n' + chrome.tail).encode()
