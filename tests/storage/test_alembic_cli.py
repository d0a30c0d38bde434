"""Plain `alembic` with the repository's alembic.ini: the URL it is given, or none."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from storage import db

REPO = Path(__file__).resolve().parents[2]
# A guard against a hung command, not a timing assertion.
COMMAND_TIMEOUT = 180
SECRET = "Zq7Vw9Kx"


def alembic(*args: str, cwd: Path, env_url: str | None = None):
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    env.pop(db.DB_ENV_VAR, None)
    if env_url is not None:
        env[db.DB_ENV_VAR] = env_url
    return subprocess.run(
        [sys.executable, "-m", "alembic", "-c", str(REPO / "alembic.ini"), *args],
        capture_output=True, text=True, cwd=cwd, env=env, timeout=COMMAND_TIMEOUT, check=False,
    )


def revision_of(url: str) -> str | None:
    engine = db.make_engine(url)
    try:
        return db.current_revision(engine)
    finally:
        engine.dispose()


@pytest.mark.parametrize("args", [("current",), ("upgrade", "head"), ("stamp", "head")])
def test_without_a_url_alembic_stops_and_creates_nothing(args, tmp_path: Path) -> None:
    result = alembic(*args, cwd=tmp_path)
    assert result.returncode != 0
    assert "no database URL" in result.stderr and "-x db=URL" in result.stderr
    assert "Traceback" not in result.stderr
    assert list(tmp_path.iterdir()) == []


def test_x_db_upgrades_the_database_it_names(db_url: str, tmp_path: Path) -> None:
    result = alembic("-x", f"db={db_url}", "upgrade", "head", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert revision_of(db_url) == db.head_revision()
    current = alembic("-x", f"db={db_url}", "current", cwd=tmp_path)
    assert f"{db.head_revision()} (head)" in current.stdout
    assert not (tmp_path / db.DEFAULT_DB_FILE).exists()


def test_the_environment_variable_names_the_database(db_url: str, tmp_path: Path) -> None:
    result = alembic("upgrade", "0006", cwd=tmp_path, env_url=db_url)
    assert result.returncode == 0, result.stderr
    assert revision_of(db_url) == "0006"
    # -x db= wins over the environment.
    other = f"sqlite:///{tmp_path / 'other.sqlite3'}"
    overridden = alembic("-x", f"db={other}", "upgrade", "head", cwd=tmp_path, env_url=db_url)
    assert overridden.returncode == 0, overridden.stderr
    assert revision_of(db_url) == "0006"
    assert revision_of(other) == db.head_revision()


@pytest.mark.parametrize(
    "url",
    [
        f"postgresql://user:{SECRET}@x@127.0.0.1:1/db",
        f"postgresql://user:{SECRET}/#?@127.0.0.1:1/db",
        f"postgresql://user:{SECRET}@[::1:1/db",
        f"postgresql://:{SECRET}@127.0.0.1:port/db",
    ],
)
def test_a_malformed_url_is_refused_without_its_password(url: str, tmp_path: Path) -> None:
    result = alembic("-x", f"db={url}", "current", cwd=tmp_path)
    assert result.returncode != 0
    assert "not a database URL" in result.stderr
    assert "Traceback" not in result.stderr
    output = result.stdout + result.stderr
    assert not [SECRET[i : i + 4] for i in range(len(SECRET) - 3) if SECRET[i : i + 4] in output]
