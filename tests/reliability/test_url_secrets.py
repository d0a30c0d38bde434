"""Malformed database and Redis URLs: every command fails in one line showing no piece of the
password, however the password breaks the URL (raw @ : # ? / %, unicode, IPv6 hosts)."""

from __future__ import annotations

import os
import random
import string
import uuid
from pathlib import Path

import pytest

from storage.db_url import redact_url
from tests.support.processes import run_cli
from tests.support.storage_fixtures import example_page

SEED = 1516
KNOWN_ID = "NISX20241115_0002960118"
FRAGMENT = 4  # no piece of the password this long may show
REDIS_TEST_ENV_VAR = "NEWSARCHIVE_TEST_REDIS"
# What a password may hold that breaks, or seems to break, a URL.
AWKWARD = ("@", ":", "#", "?", "/", "%", "%4", "%2F", "@:#?/%", "é한", "@@", " ")
DB_FORMS = (
    "postgresql://user:{secret}@127.0.0.1:1/db",
    "postgres://:{secret}@[::1]:1/db",
    "postgresql+psycopg://user:{secret}@[::1:1/db",
    "postgresql://user:{secret}@127.0.0.1:port/db",
    "postgresql://us.er:{secret}@127.0.0.1:1/db?sslmode=disable",
    "postgresql://user@127.0.0.1:1/db?password={secret}",
)
REDIS_FORMS = (
    "redis://:{secret}@127.0.0.1:1/0",
    "redis://default:{secret}@[::1]:1/0",
    "rediss://user:{secret}@127.0.0.1:port/0",
    "redis://:{secret}@[::1/0",
)
# Every command that takes --db, with what else it needs to reach the archive.
DB_COMMANDS = {
    "crawl": ("crawl", "--base-url", "http://127.0.0.1:1", "--revisit", "none", "--fast"),
    "db-current": ("db", "current"),
    "db-upgrade": ("db", "upgrade"),
    "diff": ("diff", KNOWN_ID),
    "export": ("export",),
    "history": ("history", KNOWN_ID),
    "import": ("import", "{page}", "--url", f"https://www.newsis.com/view/{KNOWN_ID}",
               "--fetched-at", "2024-11-15T07:00:00+09:00"),
    "reparse": ("reparse",),
    "schedule": ("schedule", "--redis", "{redis}", "--key-prefix", "{prefix}"),
    "search": ("search", "뉴시스"),
    "show": ("show", KNOWN_ID),
    "stats": ("stats",),
    "worker": ("worker", "--redis", "{redis}", "--key-prefix", "{prefix}", "--idle-exit", "1",
               "--base-url", "http://127.0.0.1:1"),
}


def secrets(count: int, salt: str) -> list[str]:
    """Passwords of random letters around an awkward part: any 4 characters of one stand out."""
    rng = random.Random(f"{SEED}-{salt}")
    letters = string.ascii_letters + string.digits
    return [
        "".join(rng.choices(letters, k=5)) + AWKWARD[(i + rng.randrange(3)) % len(AWKWARD)]
        + "".join(rng.choices(letters, k=5))
        for i in range(count)
    ]


def fragments(secret: str) -> set[str]:
    return {secret[i : i + FRAGMENT] for i in range(len(secret) - FRAGMENT + 1)}


def assert_one_clean_line(result, secret: str) -> None:
    shown = f"exit {result.returncode}\nstdout: {result.stdout!r}\nstderr: {result.stderr!r}"
    output = result.stdout + result.stderr
    assert result.returncode in (1, 2), shown
    assert "Traceback" not in output, shown
    assert len(result.stderr.strip().splitlines()) == 1, shown
    leaked = sorted(piece for piece in fragments(secret) if piece in output)
    assert leaked == [], f"{leaked} of {secret!r} shown\n{shown}"


def fill(args: tuple[str, ...], tmp_path: Path, redis_url: str) -> list[str]:
    page = tmp_path / "page.html"
    page.write_bytes(example_page("seed-l3")[0])
    values = {"{page}": str(page), "{redis}": redis_url,
              "{prefix}": f"na-url-secrets-{uuid.uuid4().hex[:8]}"}
    return [values.get(arg, arg) for arg in args]


def reachable_redis() -> str:
    # With a Redis to reach, schedule and worker go on to open the database.
    return os.environ.get(REDIS_TEST_ENV_VAR) or "redis://127.0.0.1:1/0"


CASES = [
    (command, form, secret)
    for command in sorted(DB_COMMANDS)
    for form, secret in zip(DB_FORMS, secrets(len(DB_FORMS), command), strict=True)
]


@pytest.mark.parametrize(("command", "form", "secret"), CASES)
def test_a_database_password_never_shows(command: str, form: str, secret: str, tmp_path) -> None:
    url = form.format(secret=secret)
    args = fill(DB_COMMANDS[command], tmp_path, reachable_redis())
    # Half the cases pass the URL in the environment, as the README recommends.
    if hash((command, form)) % 2:
        result = run_cli(*args, cwd=tmp_path, env={"NEWSARCHIVE_DB": url})
    else:
        result = run_cli(*args, "--db", url, cwd=tmp_path)
    assert_one_clean_line(result, secret)


REDIS_CASES = [
    (command, form, secret)
    for command in ("schedule", "worker")
    for form in REDIS_FORMS
    for secret in secrets(2, f"{command}-{form}")
]


@pytest.mark.parametrize(("command", "form", "secret"), REDIS_CASES)
def test_a_redis_password_never_shows(command: str, form: str, secret: str, tmp_path) -> None:
    redis_url = form.format(secret=secret)
    args = fill(DB_COMMANDS[command], tmp_path, redis_url)
    db_url = f"sqlite:///{tmp_path / 'archive.sqlite3'}"
    result = run_cli(*args, "--db", db_url, cwd=tmp_path)
    assert_one_clean_line(result, secret)


@pytest.mark.parametrize("secret", secrets(40, "redact"))
@pytest.mark.parametrize("form", DB_FORMS + REDIS_FORMS)
def test_redaction_hides_every_piece_of_the_password(form: str, secret: str) -> None:
    shown = redact_url(form.format(secret=secret))
    assert not [piece for piece in fragments(secret) if piece in shown], shown
