"""A password in a --db or --redis URL never shows in output, error messages or log files."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from crawler.localsite.server import NewsisSite
from storage import db
from tests.support.processes import run_cli
from tests.support.storage_fixtures import POSTGRES_ENV_VAR, example_page

PASSWORD = "S3cretPW"
# The same password percent-encoded in the URL, with characters URLs must escape: neither the
# encoded nor the decoded form may leak.
ENCODED_PASSWORD = "p%40ss%3AS3cretPW%2F2"
DECODED_PASSWORD = "p@ss:S3cretPW/2"
SECRETS = (PASSWORD, ENCODED_PASSWORD, DECODED_PASSWORD)
KNOWN_ID = "NISX20241115_0002960118"

DB_KINDS = ["no-such-role", "unreachable-host", "encoded-password"]
if os.environ.get(POSTGRES_ENV_VAR):
    # The CI server trusts local connections: a wrong password is accepted (checked below), so
    # these commands really run, print their summaries and write their rows.
    DB_KINDS.append("real-server-wrong-password")

COMMANDS = ["crawl", "import", "stats", "db-upgrade", "history", "search", "export", "env-var"]


@pytest.fixture(scope="module")
def site() -> Iterator[NewsisSite]:
    with NewsisSite(seed=53, articles=6) as running:
        yield running


@pytest.fixture
def secret_db_url(request) -> Iterator[str]:
    kind = request.param
    if kind == "no-such-role":
        yield f"postgresql+psycopg://nosuchuser:{PASSWORD}@127.0.0.1:5432/nosuchdb"
    elif kind == "unreachable-host":
        yield f"postgresql+psycopg://user:{PASSWORD}@127.0.0.1:1/nosuchdb"
    elif kind == "encoded-password":
        yield f"postgresql://user:{ENCODED_PASSWORD}@127.0.0.1:1/nosuchdb"
    else:
        yield from _real_database_with_wrong_password()


def _real_database_with_wrong_password() -> Iterator[str]:
    server = make_url(os.environ[POSTGRES_ENV_VAR])
    name = f"na_secret_{uuid.uuid4().hex[:12]}"
    admin = create_engine(server, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    url = server.set(database=name, password=PASSWORD).render_as_string(hide_password=False)
    try:
        db.upgrade(url)
        yield url
    finally:
        with admin.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def leaks(*texts: str) -> list[str]:
    return [secret for secret in SECRETS for chunk in texts if secret in chunk]


def command_args(command: str, url: str, tmp_path: Path, site: NewsisSite) -> list[str]:
    page = tmp_path / "page.html"
    page.write_bytes(example_page("seed-l3")[0])
    return {
        "crawl": ["crawl", "--db", url, "--base-url", site.base_url, "--fast", "--revisit",
                  "none", "--log-level", "DEBUG", "-s", f"LOG_FILE={tmp_path / 'crawl.log'}"],
        "import": ["import", str(page), "--url", f"https://www.newsis.com/view/{KNOWN_ID}",
                   "--fetched-at", "2024-11-15T07:00:00+09:00", "--db", url],
        "stats": ["stats", "--db", url],
        "db-upgrade": ["db", "upgrade", "--db", url],
        "history": ["history", KNOWN_ID, "--db", url],
        "search": ["search", "뉴시스", "--db", url],
        "export": ["export", "--db", url, "-o", str(tmp_path / "export.jsonl")],
        "env-var": ["stats"],
    }[command]


@pytest.mark.parametrize("secret_db_url", DB_KINDS, indirect=True)
@pytest.mark.parametrize("command", COMMANDS)
def test_database_password_never_appears(command: str, secret_db_url: str, tmp_path, site):
    args = command_args(command, secret_db_url, tmp_path, site)
    env = {"NEWSARCHIVE_DB": secret_db_url} if command == "env-var" else None
    result = run_cli(*args, cwd=tmp_path, env=env)
    written = [path.read_text(errors="replace") for path in tmp_path.iterdir() if path.is_file()
               and path.suffix in (".log", ".jsonl")]
    assert leaks(result.stdout, result.stderr, *written) == [], (
        f"{command}: exit {result.returncode}\nstdout: {result.stdout}\nstderr: {result.stderr}"
    )
    if "127.0.0.1:1/" in secret_db_url or "nosuchuser" in secret_db_url:
        # Nothing can be opened there: the command says so in a line, without a traceback.
        assert result.returncode != 0
        assert "Traceback" not in result.stderr, result.stderr
    elif command != "history":  # the fresh archive holds no article to show a history of
        # The wrong password is accepted: the command ran and printed its summary.
        assert result.returncode == 0, result.stderr


if os.environ.get(POSTGRES_ENV_VAR):

    def test_test_server_accepts_a_wrong_password() -> None:
        """The premise of the real-server case: trust auth lets the wrong password in."""
        url = make_url(os.environ[POSTGRES_ENV_VAR]).set(password=PASSWORD)
        engine = create_engine(url)
        try:
            with engine.connect() as connection:
                assert connection.execute(text("SELECT 1")).scalar() == 1
        finally:
            engine.dispose()


# --- Redis URLs of `newsarchive worker` / `schedule` -------------------------------------------

REDIS_KINDS = {
    "unreachable": f"redis://:{PASSWORD}@127.0.0.1:1/0",
    "wrong-password": f"redis://default:{PASSWORD}@127.0.0.1:6379/15",
    "encoded-password": f"redis://:{ENCODED_PASSWORD}@127.0.0.1:1/0",
}


@pytest.mark.parametrize("redis_kind", sorted(REDIS_KINDS))
@pytest.mark.parametrize("command", ["worker", "schedule"])
def test_redis_password_never_appears(command: str, redis_kind: str, tmp_path) -> None:
    db_url = f"postgresql+psycopg://user:{PASSWORD}@127.0.0.1:1/nosuchdb"
    args = [command, "--redis", REDIS_KINDS[redis_kind], "--db", db_url,
            "--key-prefix", f"na-secrets-{uuid.uuid4().hex[:8]}",
            "--base-url", "http://127.0.0.1:1"]
    if command == "worker":
        args += ["--idle-exit", "1", "-s", f"LOG_FILE={tmp_path / 'worker.log'}"]
    result = run_cli(*args, cwd=tmp_path)
    written = [path.read_text(errors="replace") for path in tmp_path.glob("*.log")]
    assert leaks(result.stdout, result.stderr, *written) == [], (
        f"{command}: exit {result.returncode}\nstdout: {result.stdout}\nstderr: {result.stderr}"
    )
    assert result.returncode != 0
    assert "Traceback" not in result.stderr, result.stderr
