"""The Korean words the local site writes with: names, places, topics, sentences, paragraphs."""

from __future__ import annotations

import random

SURNAMES = (
    "김이박최정강조윤장임한오서신권황안송류홍전고문양손배백허유남심노하곽성차"
    "주우구민진나지엄채원천방공현함변염여추도소석선설마길연위표명기반왕금옥육"
)
GIVEN = "민서준현우지수영은하진주경태성호재윤혜원동혁선희정아상훈철용석찬유나연승미보"
HANDLES = (
    "lovelypsyche",
    "yoon",
    "park7691",
    "ktk",
    "hwang",
    "mangusta",
    "kkssmm99",
    "newsbank",
    "jungmin",
    "hanjh",
    "kimyy",
    "sjh",
    "dazzling",
    "bluesky",
    "jhlee",
    "mkpark",
    "syk",
    "hong1004",
    "choi_s",
    "limjy",
    "seojw",
    "baekho",
    "kangsan",
    "nari",
    "wooj",
    "yeji",
)
PLACES = (
    "서울",
    "세종",
    "부산",
    "대전",
    "광주",
    "인천",
    "수원",
    "춘천",
    "청주",
    "전주",
    "창원",
    "제주",
    "횡성",
    "안동",
    "울산",
)
FOREIGN_PLACES = ("워싱턴", "도쿄", "베이징", "파리", "런던", "뉴욕", "브뤼셀", "모스크바")
AGENCIES = ("AP", "AFP", "EPA", "로이터", "신화", "교도", "UPI")
HANDOUT_ORGS = (
    "농협유통",
    "기획재정부",
    "서울시",
    "삼성전자",
    "엔비디아",
    "문화체육관광부",
    "국립중앙박물관",
    "현대자동차",
)
TOPICS = (
    "반도체 수출",
    "미세먼지 저감",
    "내년 예산안",
    "프로야구 FA 시장",
    "독감 유행",
    "해외 직구 규제",
    "코스피 지수",
    "지하철 노조 파업",
    "대학 수시 모집",
    "K팝 그룹 공연",
    "국제유가",
    "전세 사기 대책",
    "인공지능 투자",
    "저출산 대책",
    "의대 정원",
    "수출 물가",
    "원·달러 환율",
    "R&D 예산",
)
SUBJECTS = (
    "정부는",
    "업계 관계자는",
    "환경부는",
    "한국은행은",
    "서울시는",
    "국회는",
    "전문가들은",
    "기획재정부는",
    "시민단체는",
    "경찰은",
    "대통령실은",
    "교육부는",
    "관계자는",
    "주최 측은",
    "야당은",
    "여당은",
)
OBJECTS = (
    "대책을",
    "방안을",
    "계획을",
    "조치를",
    "입장을",
    "지원책을",
    "일정을",
    "결과를",
    "전망을",
    "대응책을",
)
VERBS = (
    "발표했다",
    "밝혔다",
    "내놓았다",
    "검토하고 있다",
    "추진한다",
    "강조했다",
    "공개했다",
    "설명했다",
)
QUOTES = (
    "현장의 목소리를 충분히 듣겠다",
    "시장 상황을 면밀히 점검하겠다",
    "국민 불편을 최소화하겠다",
    "추가 대책도 검토 중이다",
    "예상보다 빠르게 회복되고 있다",
    "불확실성이 여전히 크다",
)
HEADLINE_ENDS = (
    "발표",
    "추진",
    "논란",
    "확대",
    "마감",
    "본격화",
    "첫 진입",
    "우려",
    "검토",
    "강화",
)
HEADLINE_TAGS = ("[속보] ", "[종합] ", "[단독] ")
PHOTO_ACTIONS = (
    "시민들이 거리를 지나고 있다.",
    "관계자들이 회의를 하고 있다.",
    "참석자들이 기념촬영을 하고 있다.",
    "선수들이 훈련을 하고 있다.",
    "수험생들이 교문을 나서고 있다.",
    "관람객들이 전시를 둘러보고 있다.",
)
REPORTER_TITLES = ("기자", "특파원", "인턴기자", "리포터")


def _rng(seed: int, *parts: object) -> random.Random:
    return random.Random(":".join(str(part) for part in (seed, *parts)))


def _person(rng: random.Random) -> str:
    return rng.choice(SURNAMES) + rng.choice(GIVEN) + rng.choice(GIVEN)


def _with(word: str) -> str:
    """The particle 와/과 that fits the word's last syllable (과 after a final consonant)."""
    last = ord(word[-1]) - 0xAC00
    return "과" if 0 <= last < 11172 and last % 28 else "와"


def _sentence(rng: random.Random, topic: str) -> str:
    kind = rng.random()
    day = rng.randint(1, 28)
    if kind < 0.3:
        quote = rng.choice(QUOTES)
        return f'{rng.choice(SUBJECTS)} "{topic} 문제와 관련해 {quote}"고 {rng.choice(VERBS[:2])}.'
    if kind < 0.45:
        subject, what, verb = rng.choice(SUBJECTS), rng.choice(OBJECTS), rng.choice(VERBS)
        return f"{subject} '{topic}'에 대해 {day}일 {what} {verb}."
    if kind < 0.6:
        return (
            f"{day}일 {rng.choice(PLACES)}에서 열린 {topic} 관련 회의에서는 "
            f"{rng.randint(2, 99)}% 이상이 {rng.choice(OBJECTS)} 지지한 것으로 나타났다."
        )
    subject, count = rng.choice(SUBJECTS), rng.randint(2, 12)
    what, verb = rng.choice(OBJECTS), rng.choice(VERBS)
    return f"{subject} {topic}{_with(topic)} 관련해 {count}개 {what} {verb}."


def _paragraph(rng: random.Random, topic: str) -> str:
    return " ".join(_sentence(rng, topic) for _ in range(rng.randint(1, 3)))

