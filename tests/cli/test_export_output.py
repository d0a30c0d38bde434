"""`export -o` onto what is not a regular file, and exports killed half-way."""

from __future__ import annotations

import io
import os
import random
import signal
import stat
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from click.testing import CliRunner
from warcio.archiveiterator import ArchiveIterator

from crawler.cli import cli
from tests.support.storage_fixtures import fill


@pytest.fixture
def archive(tmp_path) -> str:
    url = f"sqlite:///{tmp_path / 'archive.sqlite3'}"
    fill(url)
    return url


def export(archive: str, output: Path | str, *args: str):
    return CliRunner().invoke(cli, ["export", "-o", str(output), "--db", archive, *args])


def expected(archive: str, tmp_path: Path, *args: str) -> bytes:
    plain = tmp_path / "plain.out"
    assert export(archive, plain, *args).exit_code == 0
    return plain.read_bytes()


def content(data: bytes, fmt: str) -> object:
    """What an export holds (a WARC's record ids and its warcinfo date differ run to run)."""
    if fmt != "warc":
        return data
    return [
        (r.rec_type, r.rec_headers.get_header("WARC-Target-URI"), r.content_stream().read())
        for r in ArchiveIterator(io.BytesIO(data))
        if r.rec_type != "warcinfo"
    ]


def partials(folder: Path) -> list[str]:
    return [p.name for p in folder.iterdir() if p.name.endswith(".partial")]


def test_dev_null_stays_the_device_it_is(archive):
    before = os.stat("/dev/null")
    result = export(archive, "/dev/null")
    assert result.exit_code == 0, result.output
    after = os.stat("/dev/null")
    assert stat.S_ISCHR(after.st_mode)
    assert (after.st_ino, after.st_mode, after.st_rdev) == (
        before.st_ino, before.st_mode, before.st_rdev
    )


@pytest.mark.parametrize("fmt", ["jsonl", "warc"])
def test_a_character_device_is_written_through_not_replaced(archive, tmp_path, fmt):
    device = tmp_path / "null"
    os.mknod(device, stat.S_IFCHR | 0o666, os.makedev(1, 3))
    result = export(archive, device, "--format", fmt)
    assert result.exit_code == 0, result.output
    assert stat.S_ISCHR(os.stat(device).st_mode) and os.stat(device).st_rdev == os.makedev(1, 3)
    assert partials(tmp_path) == []


@pytest.mark.parametrize("fmt", ["jsonl", "csv", "warc"])
def test_a_fifo_gets_the_export_and_stays_a_fifo(archive, tmp_path, fmt):
    want = expected(archive, tmp_path, "--format", fmt)
    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    got: list[bytes] = []
    reader = threading.Thread(target=lambda: got.append(fifo.read_bytes()))
    reader.start()
    result = export(archive, fifo, "--format", fmt)
    reader.join(timeout=60)
    assert result.exit_code == 0, result.output
    assert len(got) == 1 and content(got[0], fmt) == content(want, fmt)
    assert stat.S_ISFIFO(os.lstat(fifo).st_mode)


def test_a_symlink_to_a_file_writes_the_target_and_stays_a_link(archive, tmp_path):
    want = expected(archive, tmp_path)
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    target = elsewhere / "records.jsonl"
    target.write_text("old\n")
    target.chmod(0o640)
    link = tmp_path / "latest.jsonl"
    link.symlink_to(target)
    result = export(archive, link)
    assert result.exit_code == 0, result.output
    assert link.is_symlink() and os.readlink(link) == str(target)
    assert target.read_bytes() == want
    assert stat.S_IMODE(target.stat().st_mode) == 0o640
    assert partials(tmp_path) == [] and partials(elsewhere) == []


def test_a_dangling_symlink_creates_its_target(archive, tmp_path):
    want = expected(archive, tmp_path)
    link = tmp_path / "latest.jsonl"
    link.symlink_to(tmp_path / "made.jsonl")
    result = export(archive, link)
    assert result.exit_code == 0, result.output
    assert link.is_symlink() and (tmp_path / "made.jsonl").read_bytes() == want


def test_a_directory_is_a_clear_error(archive, tmp_path):
    folder = tmp_path / "out"
    folder.mkdir()
    result = export(archive, folder)
    assert result.exit_code == 1
    assert result.output.strip() == f"newsarchive: {folder}: is a directory"
    assert folder.is_dir() and list(folder.iterdir()) == []


def test_a_read_only_file_is_left_as_it_is(archive, tmp_path):
    kept = tmp_path / "kept.jsonl"
    kept.write_text("keep me\n")
    kept.chmod(0o444)
    result = export(archive, kept)
    assert result.exit_code == 1
    assert "read-only" in result.output
    assert kept.read_text() == "keep me\n" and partials(tmp_path) == []


def test_exports_killed_at_random_points_leave_no_partial_after_the_next(tmp_path):
    url = f"sqlite:///{tmp_path / 'archive.sqlite3'}"
    fill(url)
    out = tmp_path / "records.jsonl"
    command = [sys.executable, "-m", "crawler", "export", "--all-versions", "-o", str(out),
               "--db", url]
    subprocess.run(command, check=True, capture_output=True, timeout=300)
    whole = out.read_bytes()
    chosen = random.Random(7)
    for _ in range(8):
        process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        time.sleep(chosen.uniform(0.0, 1.5))
        process.send_signal(signal.SIGKILL)
        process.wait(timeout=60)
        # The last whole export is never touched by one killed half-way.
        assert out.read_bytes() == whole
    subprocess.run(command, check=True, capture_output=True, timeout=300)
    assert partials(tmp_path) == []
    assert out.read_bytes() == whole
