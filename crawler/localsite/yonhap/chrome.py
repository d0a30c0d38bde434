"""The parts every Yonhap-like page shares: head, header and navigation, side boxes, footer."""

# The markup mirrors tests/fixtures/yonhap/examples/y3-article.html, so its long lines stay.
# ruff: noqa: E501

from __future__ import annotations

import random
from html import escape

from crawler.localsite.yonhap.articles import ALL_SECTIONS

_HEAD = """<meta property="og:site_name" content="연합뉴스">
<link rel="stylesheet" href="//r.yna.co.kr/global/home/v01/css/common.css?v=20260901">
<link rel="stylesheet" href="//r.yna.co.kr/global/home/v01/css/view.css?v=20260901">
<script src="//r.yna.co.kr/global/home/v01/js/jquery-3.7.1.min.js"></script>
<script>
  window.dataLayer = window.dataLayer || [];
  function gtag(){dataLayer.push(arguments);}
  var YNA = { pageCode: 'VIEW', isLogin: false };
</script>
"""
_FOOTER = """<footer id="footer" class="footer01">
  <div class="inner">
    <ul class="link-list01"><li><a href="/etc/company/index">회사소개</a></li><li><a href="/rss/index?site=footer_rss">RSS</a></li><li><a href="/sitemap/index">지난뉴스</a></li></ul>
    <address>(03143) 서울특별시 종로구 율곡로2길 25 연합뉴스빌딩 | 대표전화 02-398-3114</address>
    <p class="txt-copyright01">Copyright &copy; Yonhapnews Agency. All rights reserved.</p>
  </div>
</footer>
</div>
"""
UTIL_BOX = """<div class="util-box01">
  <button type="button" class="btn-tts" aria-label="음성으로 듣기"><span>음성으로 듣기</span></button>
  <button type="button" class="btn-font" aria-label="글씨크기 조절하기"><span>글씨크기 조절하기</span></button>
  <button type="button" class="btn-copy" data-clipboard-text=""><span>URL 복사</span></button>
</div>
"""
REACTIONS = """<div class="emotion-zone01"><p class="tit">이 기사에 대한 반응</p><ul class="list01"><li><button type="button" class="btn-emotion like"><span class="txt">좋아요</span></button></li><li><button type="button" class="btn-emotion sad"><span class="txt">슬퍼요</span></button></li><li><button type="button" class="btn-emotion angry"><span class="txt">화나요</span></button></li><li><button type="button" class="btn-emotion follow"><span class="txt">후속요청</span></button></li></ul></div>
"""


class YonhapChrome:
    """The shared page parts of one seed's Yonhap-like site, built once."""

    def __init__(self, seed: int, headlines: list[tuple[str, str]]) -> None:
        rng = random.Random(f"{seed}:yonhap-chrome")
        links = headlines or [("AKR20241115000100001", "연합뉴스")]
        nav = "\n".join(
            f'        <li class="nav-item"><a href="{section.path}index">{section.label}</a></li>'
            for section in ALL_SECTIONS
        )
        flash = "\n".join(
            f'      <li><a href="//www.yna.co.kr/view/{cid}?site=topnews">{escape(title)}</a></li>'
            for cid, title in rng.sample(links, min(5, len(links)))
        )
        self.header = f"""<div id="wrap" class="wrap">
<header id="header" class="header01">
  <div class="header-top01"><h1 class="logo"><a href="/"><span class="blind">연합뉴스</span></a></h1>
    <div class="util-zone01"><a href="/rss/index?site=footer_rss" class="btn-rss">RSS</a><a href="/mynews/index" class="btn-mynews">연합 마이뉴스</a></div>
  </div>
  <nav id="gnb" class="gnb01"><div class="inner"><ul class="nav-list01">
        <li class="nav-item"><a href="/news">최신기사</a></li>
{nav}
  </ul></div></nav>
  <div class="newsflash01"><strong class="tit">속보</strong><div class="swiper-container"><ul class="list">
{flash}
  </ul></div></div>
</header>
"""
        most = "\n".join(
            f'      <li><span class="num">{n}</span><a href="//www.yna.co.kr/view/{cid}?site=mostview"><strong class="tit">{escape(title)}</strong></a></li>'
            for n, (cid, title) in enumerate((rng.choice(links) for _ in range(10)), start=1)
        )
        self.aside = (
            '<aside class="aside-wrap01">\n  <section class="box-type311 most-view01">\n'
            f'    <h2 class="tit-sec">많이 본 뉴스</h2>\n    <ol class="list01">\n{most}\n    </ol>\n  </section>\n</aside>\n'
        )
        self.util_box = UTIL_BOX
        self.reactions = REACTIONS
        self.tail = _FOOTER + "</body>\n</html>\n"

    def top(self, title: str, metas: str, body_class: str) -> str:
        return (
            '<!DOCTYPE html>\n<html lang="ko">\n<head>\n<meta charset="UTF-8">\n'
            f"<title>{escape(title)}</title>\n{metas}{_HEAD}</head>\n"
            f'<body class="{body_class}">\n{self.header}'
        )
