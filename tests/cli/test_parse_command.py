"""`newsarchive parse`: JSON out; one stderr line with exit 1 (not an article) or 2 (unreadable)."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest
from click.testing import CliRunner

from crawler.cli import cli
from tests.support.paths import NEWSIS_EXAMPLES, REPO_ROOT, YONHAP_EXAMPLES

SEED = NEWSIS_EXAMPLES / "seed-l3.html"
SEED_URL = "https://www.newsis.com/view/NISX20241115_0002960118"
NOT_FOUND_URL = "https://www.newsis.com/view/NISX20241115_0009999999"


def _run(*args: str, stdin: bytes | None = None):
    return CliRunner().invoke(cli, ["parse", *args], input=stdin)


def test_parse_prints_the_record_as_sorted_utf8_json():
    result = _run(str(SEED), "--url", SEED_URL)
    assert result.exit_code == 0, result.output
    record = json.loads(result.stdout)
    assert record["headline"] == "엔비디아 젠슨황, 무대 위로 손정의 불러들인 이유는?"
    expected = json.dumps(record, ensure_ascii=False, indent=2, sort_keys=True) + "\n"
    assert result.stdout == expected


def test_parse_reads_stdin_when_page_is_dash():
    result = _run("-", "--url", SEED_URL, stdin=SEED.read_bytes())
    assert result.exit_code == 0
    assert json.loads(result.stdout)["article_id"] == "NISX20241115_0002960118"


def test_parse_fetched_at_picks_the_older_parser_version():
    older = NEWSIS_EXAMPLES / "older-l2.html"
    url = "http://www.newsis.com/view/?id=NISX20190304_0000577521&cID=10201&pID=10200"
    result = _run(str(older), "--url", url, "--fetched-at", "2019-03-04T18:00:00+09:00")
    assert result.exit_code == 0
    assert json.loads(result.stdout)["parser_version"] == "newsis-2017.1"


def test_parse_of_a_non_article_prints_one_line_and_exits_1():
    result = _run(str(NEWSIS_EXAMPLES / "not-found.html"), "--url", NOT_FOUND_URL)
    assert result.exit_code == 1
    assert result.stdout == ""
    assert result.stderr.startswith("newsarchive: not an article: ")
    assert result.stderr.count("\n") == 1


def test_parse_of_a_missing_file_exits_2_with_one_line(tmp_path):
    result = _run(str(tmp_path / "missing.html"), "--url", SEED_URL)
    assert result.exit_code == 2
    assert result.stdout == ""
    assert result.stderr.startswith("newsarchive: cannot read ") and result.stderr.count("\n") == 1


def test_parse_of_a_directory_exits_2(tmp_path):
    result = _run(str(tmp_path), "--url", SEED_URL)
    assert result.exit_code == 2 and result.stderr.count("\n") == 1


def test_parse_runs_as_a_real_process_without_traceback(tmp_path):
    page = tmp_path / "truncated.html"
    page.write_bytes(SEED.read_bytes()[:5000])
    command = [sys.executable, "-m", "crawler", "parse"]
    ok = subprocess.run(
        [*command, "-", "--url", SEED_URL], input=SEED.read_bytes(), capture_output=True,
        cwd=REPO_ROOT, timeout=60, check=False,
    )
    assert ok.returncode == 0
    assert json.loads(ok.stdout.decode("utf-8"))["section"] == "산업"
    bad = subprocess.run(
        [*command, str(page), "--url", SEED_URL], capture_output=True, cwd=REPO_ROOT, timeout=60,
        check=False,
    )
    assert bad.returncode == 1
    assert bad.stdout == b""
    assert bad.stderr.decode("utf-8") == (
        "newsarchive: not an article: truncated page (no closing </html>)\n")


YONHAP_PAGE = YONHAP_EXAMPLES / "y3-article.html"
YONHAP_ID = "AKR20260716091200003"


@pytest.mark.parametrize("url", [
    f"https://www.yna.co.kr/view/{YONHAP_ID}",
    f"http://yna.co.kr/view/{YONHAP_ID}?input=1195m",
    f"https://m.yna.co.kr/amp/view/{YONHAP_ID}#top",
    f"//www.yna.co.kr/view/{YONHAP_ID}",
])
def test_parse_picks_the_publisher_by_the_url(url):
    result = _run(str(YONHAP_PAGE), "--url", url)
    assert result.exit_code == 0, result.output
    record = json.loads(result.stdout)
    expected = json.loads(YONHAP_PAGE.with_suffix(".json").read_text(encoding="utf-8"))
    # The example gives the record's fields; the command adds its parser and content hash.
    assert {name: record[name] for name in expected} == expected
    assert record["source"] == "yonhap"


def test_parse_of_a_yonhap_page_under_a_newsis_url_is_not_an_article():
    result = _run(str(YONHAP_PAGE), "--url", SEED_URL)
    assert result.exit_code == 1
    assert result.stdout == ""


def test_parse_refuses_a_url_of_no_publisher_naming_both():
    result = _run(str(YONHAP_PAGE), "--url", "https://news.example.net/view/AKR20260716091200003")
    assert result.exit_code == 2
    assert "newsis.com" in result.output and "yna.co.kr" in result.output
