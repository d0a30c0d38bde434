"""CPU seconds of groups of processes over a time window, from /proc (Linux only)."""

from __future__ import annotations

import os
import threading
from collections.abc import Callable, Iterable
from pathlib import Path

TICKS = os.sysconf("SC_CLK_TCK")
# Often enough that a process living a second is seen; rarely enough to cost nothing.
SAMPLE_EVERY = 0.2


def cpu_seconds(pid: int) -> float | None:
    """User + system CPU seconds of one process (all its threads), None once it is gone."""
    try:
        text = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    # The command name may hold spaces: the fields after it start behind its ")".
    fields = text.rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICKS


def with_descendants(roots: Iterable[int]) -> set[int]:
    """The processes and every process they started (a worker's writer process, say)."""
    children: dict[int, list[int]] = {}
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        try:
            parent = int(Path(f"/proc/{entry.name}/stat").read_text().rsplit(")", 1)[1].split()[1])
        except (OSError, IndexError, ValueError):
            continue
        children.setdefault(parent, []).append(int(entry.name))
    found: set[int] = set()
    todo = list(roots)
    while todo:
        pid = todo.pop()
        if pid not in found:
            found.add(pid)
            todo.extend(children.get(pid, ()))
    return found


def pids_named(name: str) -> list[int]:
    """Processes whose command name is `name` (e.g. redis-server)."""
    found = []
    for entry in os.scandir("/proc"):
        if entry.name.isdigit():
            try:
                if Path(f"/proc/{entry.name}/comm").read_text().strip() == name:
                    found.append(int(entry.name))
            except OSError:
                continue
    return found


def machine_busy_seconds() -> tuple[float, float]:
    """(busy, all) CPU seconds of the whole machine since boot, summed over its CPUs."""
    values = [int(v) for v in Path("/proc/stat").read_text().splitlines()[0].split()[1:]]
    idle = values[3] + values[4]  # idle + iowait
    return (sum(values) - idle) / TICKS, sum(values) / TICKS


class CpuMeter:
    """CPU seconds used by named groups of processes between `start()` and `stop()`.

    `groups()` names the processes of each group; it is asked again at every sample, so
    processes that start during the window (a PostgreSQL backend, a writer process) are counted
    from their birth, and those that end are counted up to their last sample.
    """

    def __init__(self, groups: Callable[[], dict[str, Iterable[int]]]) -> None:
        self.groups = groups
        self._first: dict[int, float] = {}
        self._last: dict[int, tuple[str, float]] = {}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._machine_start = (0.0, 0.0)
        self.machine = (0.0, 0.0)

    def start(self) -> None:
        self._sample(baseline=True)
        self._machine_start = machine_busy_seconds()
        self._thread.start()

    def stop(self) -> dict[str, float]:
        """Stop sampling; CPU seconds per group over the window."""
        busy, total = machine_busy_seconds()
        self.machine = (busy - self._machine_start[0], total - self._machine_start[1])
        self._stop.set()
        self._thread.join()
        self._sample()
        used: dict[str, float] = {}
        for pid, (group, seconds) in self._last.items():
            used[group] = used.get(group, 0.0) + seconds - self._first.get(pid, 0.0)
        return used

    def _run(self) -> None:
        while not self._stop.wait(SAMPLE_EVERY):
            self._sample()

    def _sample(self, baseline: bool = False) -> None:
        for group, pids in self.groups().items():
            for pid in pids:
                seconds = cpu_seconds(pid)
                if seconds is None:
                    continue
                if baseline:
                    self._first[pid] = seconds
                self._last[pid] = (group, seconds)
