"""Commands in subprocesses: the newsarchive command line, killable process groups, polling."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path

from tests.support.paths import REPO_ROOT

# A guard against a hung command, not a timing assertion.
COMMAND_TIMEOUT = 300
# What the caller's shell may set that would point a command at another archive or queue.
_ARCHIVE_ENV_VARS = ("NEWSARCHIVE_DB", "NEWSARCHIVE_REDIS")


def newsarchive(*args: str) -> list[str]:
    return [sys.executable, "-m", "crawler", *args]


def run_cli(
    *args: str, cwd: Path = REPO_ROOT, env: Mapping[str, str] | None = None,
    timeout: float = COMMAND_TIMEOUT,
) -> subprocess.CompletedProcess[str]:
    """`newsarchive ARGS` run to its end from `cwd`, the repository importable from anywhere;
    NEWSARCHIVE_DB and NEWSARCHIVE_REDIS come from `env` only, never from the caller's shell."""
    environment = {**os.environ, "PYTHONPATH": str(REPO_ROOT)}
    for name in _ARCHIVE_ENV_VARS:
        environment.pop(name, None)
    environment.update(env or {})
    return subprocess.run(
        newsarchive(*args), capture_output=True, text=True, cwd=cwd, env=environment,
        timeout=timeout, check=False,
    )


def start(command: Sequence[str]) -> subprocess.Popen[str]:
    """A command in its own process group, so a kill takes its worker processes with it."""
    return subprocess.Popen(
        list(command), cwd=REPO_ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        start_new_session=True,
    )


def run(command: Sequence[str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        list(command), cwd=REPO_ROOT, capture_output=True, text=True, timeout=COMMAND_TIMEOUT,
        check=False,
    )


def finish(process: subprocess.Popen[str]) -> tuple[int, str, str]:
    out, err = process.communicate(timeout=COMMAND_TIMEOUT)
    return process.returncode, out, err


def finish_within(process: subprocess.Popen[str], *, seconds: float) -> tuple[int, str, str]:
    """The process's exit code and output; one still running after `seconds` (hung) is killed
    with its process group and fails the test."""
    try:
        process.wait(timeout=seconds)
    except subprocess.TimeoutExpired:
        kill(process)
        raise AssertionError(f"still running {seconds} s later") from None
    return finish(process)


def kill(process: subprocess.Popen[str]) -> None:
    """SIGKILL the process group we started (the command and any children of it), then reap it."""
    try:
        os.killpg(process.pid, signal.SIGKILL)
    except ProcessLookupError:
        pass
    process.communicate(timeout=COMMAND_TIMEOUT)


def kill_after_delay(process: subprocess.Popen[str], seconds: float) -> bool:
    """SIGKILL `process` after `seconds`; False when it had already exited by itself."""
    try:
        process.wait(timeout=seconds)
    except subprocess.TimeoutExpired:
        kill(process)
        return True
    process.communicate(timeout=COMMAND_TIMEOUT)
    return False


def wait_until(condition: Callable[[], bool], what: str, limit: float = COMMAND_TIMEOUT) -> None:
    """Poll until `condition` holds; fail (not hang) if it never does."""
    deadline = time.monotonic() + limit
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"never happened: {what}")
        time.sleep(0.02)
