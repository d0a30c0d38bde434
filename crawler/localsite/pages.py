"""The local site's article pages (both designs) and its error page, as bytes."""

# The markup mirrors tests/fixtures/newsis/examples line for line, so its long lines stay as they are.
# ruff: noqa: E501

from __future__ import annotations

from html import escape

from crawler.localsite.chrome import Chrome, html_head
from crawler.localsite.model import SiteArticle

__all__ = ["Chrome", "render_article", "render_error"]

PHOTO_DESK_FOOTER = (
    "[사진 영상 제보받습니다] 공감언론 뉴시스가 독자 여러분의 소중한 제보를 기다립니다. "
    "뉴스 가치나 화제성이 있다고 판단되는 사진 또는 영상을 뉴시스 사진영상부(n-photo@newsis.com)로 "
    "보내주시면 적극 반영하겠습니다."
)
COPYRIGHT = (
    '<div class="copyright">저작권자 &copy; 공감언론 뉴시스통신사. 무단전재-재배포 금지.</div>'
)

def quirky_text(text: str, style: int, slot: int) -> str:
    """Escaped text, sometimes with a no-break space or a zero-width space the parser must clean."""
    quirk = (style >> slot) % 11
    if quirk == 1 and len(text) > 3:
        text = text[:2] + "\u200b" + text[2:]
    html = escape(text)
    if quirk == 0 and " " in html:
        html = html.replace(" ", "&nbsp;", 1)
    elif quirk == 2 and " " in html:
        first, rest = html.split(" ", 1)
        html = f"<b>{first}</b> {rest}"
    return html

def _description(article: SiteArticle) -> str:
    if article.is_photo_item:
        return article.photos[0].caption_line()
    return (article.lead_text() + (article.body[1] if len(article.body) > 1 else ""))[:150]


def _times_current(article: SiteArticle) -> str:
    # STRUCTURE.md § current design: 등록/기사등록/입력 and 수정/최종수정 with ., / or - separators.
    labels, pattern = (
        (("등록", "수정"), "%Y.%m.%d %H:%M:%S"),
        (("기사등록", "최종수정"), "%Y/%m/%d %H:%M:%S"),
        (("입력", "수정"), "%Y-%m-%d %H:%M:%S"),
    )[article.style % 3 if not article.is_photo_item else 0]
    spans = f"<span>{labels[0]} {article.published_at.strftime(pattern)}</span>"
    if article.modified_at:
        spans += f"<span>{labels[1]} {article.modified_at.strftime(pattern)}</span>"
    return spans


def _thumcont(photo_src: str, alt: str, caption: str) -> str:
    return (
        '<div class="thumCont"><div><div><table><tbody><tr><td class="img">'
        f'<img src="{photo_src}" alt="{escape(alt)}" onerror="this.src=\'//image.newsis.com/noimg.jpg\'">'
        f'</td></tr></tbody></table></div></div><p class="photojournal">{caption}</p></div>\n'
    )


def _caption_html(caption: str) -> str:
    return escape(caption).replace("\u00a0", "&nbsp;")


_VIEW_AD = (
    '<div id="view_ad"><script type="text/javascript">googletag.cmd.push(function(){'
    'googletag.display("div-gpt-ad-1");});</script><iframe src="//ad.example.invalid/view_middle" '
    'width="300" height="250" frameborder="0" scrolling="no"></iframe></div>\n'
)


def _photo_positions(article: SiteArticle) -> dict[int, list[int]]:
    """Which photos go before which paragraph: the first before the lead or after it, the rest spread."""
    positions: dict[int, list[int]] = {}
    count = len(article.body)
    for number in range(len(article.photos)):
        if number == 0:
            where = 0 if article.style % 4 else min(1, count)
        else:
            where = min(count, 1 + number * max(1, count // (len(article.photos) + 1)))
        positions.setdefault(where, []).append(number)
    return positions


def _current_body(article: SiteArticle) -> str:
    br = ("<br>", "<br/>", "<br />")[article.style // 7 % 3]
    separator = br * 2 if article.style % 5 else br * 3  # empty runs the parser must drop
    parts = ['<article itemprop="articleBody">\n']
    if article.subheadlines:
        inner = (br * 2 if article.style % 2 else br).join(
            escape(line) for line in article.subheadlines
        )
        parts.append(f'<div class="summury">{inner}</div>\n')
    if article.is_photo_item:
        photo = article.photos[0]
        parts.append(_thumcont(photo.src, "", _caption_html(photo.caption_line())))
        parts.append(f"{PHOTO_DESK_FOOTER}{br}\n\n</article>\n")
        return "".join(parts)
    positions = _photo_positions(article)
    ad_after = min(len(article.body) - 1, 4)
    for number, paragraph in enumerate(article.body):
        for photo_no in positions.get(number, []):
            photo = article.photos[photo_no]
            parts.append(
                _thumcont(photo.src, article.headline[:12], _caption_html(photo.caption_line()))
            )
        text = quirky_text(paragraph, article.style, number)
        if number == 0:
            text = escape(article.lead_prefix()) + text
        parts.append(f"{text}{separator}\n")
        if number == ad_after:
            parts.append(_VIEW_AD)
    for photo_no in positions.get(len(article.body), []):
        photo = article.photos[photo_no]
        parts.append(_thumcont(photo.src, "", _caption_html(photo.caption_line())))
    if article.photos and article.style % 6 == 0:
        parts.append(f"{PHOTO_DESK_FOOTER}{br}\n")
    if article.closing_email:
        parts.append(f"{br}\n◎공감언론 뉴시스 {article.closing_email}{br}\n")
    parts.append("\n</article>\n")
    hidden = ' style="display:none"' if article.style % 8 else ""
    parts.append(
        f'<div id="textBody" class="textBody"{hidden}>{escape(article.lead_text())}</div>\n'
    )
    return "".join(parts)


def _current_article(article: SiteArticle, chrome: Chrome) -> tuple[str, str]:
    section = article.section
    og_image = article.photos[0].src.split("?")[0] if article.photos else ""
    if og_image.startswith("//"):
        og_image = "https:" + og_image
    metas = (
        f'<meta name="description" content="{escape(_description(article))}">\n'
        '<meta property="og:type" content="article">\n<meta property="og:site_name" content="뉴시스">\n'
        f'<meta property="og:title" content="{escape(article.headline)}">\n'
        f'<meta property="og:url" content="{article.url}">\n'
        + (f'<meta property="og:image" content="{og_image}">\n' if og_image else "")
        + f'<meta property="og:description" content="{escape(_description(article))}">\n'
        f'<meta property="article:published_time" content="{article.published_at.isoformat()}">\n'
        f'<link rel="canonical" href="{article.url}">\n'
    )
    top = html_head(article.headline, metas, chrome)
    middle = f"""<div id="container">
<div id="content">
<div class="articleView">
<div class="view">
<div class="top"><p class="tit"><a href="{section.path}list/?cid={section.cid}&amp;scid={int(section.cid) + 1}">{section.label}</a></p>
<h1 class="tit title_area">{escape(article.headline)}</h1></div>
<div class="infoLine"><div class="left"><p class="txt">{_times_current(article)}</p></div>
<div class="right"><button type="button" class="btnSmall">작게</button><button type="button" class="btnBig">크게</button><a href="#" class="share fb">페이스북</a><a href="#" class="share tw">X</a></div></div>
<div class="viewer">
{_current_body(article)}{COPYRIGHT}
</div>
</div>
</div>
"""
    return top, middle


def _older_article(article: SiteArticle, chrome: Chrome) -> tuple[str, str]:
    section = article.section
    og_url = f"http://www.newsis.com/view/?id={article.article_id}"
    metas = (
        f'<meta property="og:title" content="{escape(article.headline)}">\n'
        f'<meta property="og:description" content="{escape(_description(article))}">\n'
        f'<meta property="og:url" content="{og_url}">\n'
    )
    top = html_head(article.headline, metas, chrome)
    times = f"등록 {article.published_at:%Y-%m-%d %H:%M:%S}"
    if article.modified_at:
        times += f' <span class="bar">|</span> 수정 {article.modified_at:%Y-%m-%d %H:%M:%S}'
    parts = []
    positions = _photo_positions(article)
    for number, paragraph in enumerate(article.body):
        for photo_no in positions.get(number, []):
            photo = article.photos[photo_no]
            parts.append(
                f'<div class="view_img"><img src="{photo.src}" alt="">'
                f'<p class="desc">{_caption_html(photo.caption_line())}</p></div>\n'
            )
        text = quirky_text(paragraph, article.style, number)
        if number == 0:
            text = escape(article.lead_prefix()) + text
        parts.append(f"{text}<br />\n")
    for photo_no in positions.get(len(article.body), []):
        photo = article.photos[photo_no]
        parts.append(
            f'<div class="view_img"><img src="{photo.src}" alt=""><p class="desc">'
            f"{_caption_html(photo.caption_line())}</p></div>\n"
        )
    if article.closing_email:
        parts.append(f"<br />\n◎공감언론 뉴시스 {article.closing_email}<br />\n")
    old_path = section.old_path or section.path
    middle = f"""<div id="container">
<div class="subMenu"><div><p><a href="{old_path}?cid={section.cid}">{section.label}</a></p></div></div>
<div id="article">
<div class="article_tbx mgt8 w970"><span class="date"></span>
<h1>{escape(article.headline)}</h1>
<div class="date">{times}</div></div>
<div class="article_bx"><div class="view_text"><div id="textBody">
{"".join(parts)}
</div></div></div>
</div>
"""
    return top, middle


def render_article(article: SiteArticle, chrome: Chrome) -> bytes:
    if article.design == "older":
        top, middle = _older_article(article, chrome)
    else:
        top, middle = _current_article(article, chrome)
    return (
        top + middle + chrome.rank + "</div>\n" + chrome.tail + "</div>\n</body>\n</html>\n"
    ).encode()


def render_error(chrome: Chrome) -> bytes:
    # examples/not-found.html: Newsis answers 200 with this page, GISA FILE NOT EXISTS included.
    top = html_head("뉴시스", "", chrome)
    return (
        top
        + '<div id="container"><div id="content"><div class="errorBox"><p class="mgt18">GISA FILE NOT EXISTS</p>'
        '<p>요청하신 기사를 찾을 수 없습니다.</p><a href="/">뉴시스 홈으로</a></div></div></div>\n'
        + chrome.tail
        + "</div>\n</body>\n</html>\n"
    ).encode()
