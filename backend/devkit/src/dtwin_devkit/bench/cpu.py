"""CPU time per process group, from /proc: what each stage of the pipeline spends per reading (issue #21).

A group is named by the pids of its root processes (the backend, the bridge, each server's main process);
its CPU time is the user + system time of those roots and of every live descendant (PostgreSQL's backends,
a backend's worker processes), plus what the roots' exited children used (`cutime`/`cstime`, counted once
they were reaped). Sampling before and after a window gives each group's CPU seconds in it."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path

TICK = os.sysconf("SC_CLK_TCK")


def _stat(pid: int) -> tuple[int, float, float] | None:
    """(parent pid, own CPU seconds, reaped children's CPU seconds) of a live process, else None."""
    try:
        raw = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    # the command name (field 2) may hold spaces and parentheses: split after its closing one
    fields = raw[raw.rindex(")") + 2 :].split()
    ppid = int(fields[1])
    utime, stime, cutime, cstime = (int(f) for f in fields[11:15])
    return ppid, (utime + stime) / TICK, (cutime + cstime) / TICK


def _children() -> dict[int, list[int]]:
    kids: dict[int, list[int]] = {}
    for entry in os.scandir("/proc"):
        if entry.name.isdigit():
            st = _stat(int(entry.name))
            if st is not None:
                kids.setdefault(st[0], []).append(int(entry.name))
    return kids


def tree_cpu(roots: Iterable[int], kids: Mapping[int, list[int]] | None = None) -> float:
    """CPU seconds of the process trees under `roots` (see the module's docstring)."""
    kids = _children() if kids is None else kids
    total = 0.0
    seen: set[int] = set()
    for root in roots:
        st = _stat(root)
        if st is None:
            continue
        total += st[1] + st[2]
        seen.add(root)
        stack = list(kids.get(root, ()))
        while stack:
            pid = stack.pop()
            if pid in seen:
                continue
            seen.add(pid)
            child = _stat(pid)
            if child is not None:
                total += child[1]  # its reaped children are in its parent's cutime once it exits: not here
                stack.extend(kids.get(pid, ()))
    return total


def postmaster_pid(data_dir: Path) -> int:
    """PostgreSQL's main process, from its data directory's postmaster.pid."""
    return int((data_dir / "postmaster.pid").read_text().split("\n", 1)[0])


def own_cpu() -> float:
    """CPU seconds of this process alone (not its children: the simulators the bench starts)."""
    t = os.times()
    return t.user + t.system


@dataclass
class CpuMeter:
    """CPU seconds per named group. `trees` gives each group's root pids at sampling time (a group's
    processes may change between samples, e.g. one simulator per step); `own` names this process's group."""

    trees: Mapping[str, Callable[[], list[int]]]
    own: str | None = None

    def sample(self) -> dict[str, float]:
        kids = _children()
        out = {name: tree_cpu(pids(), kids) for name, pids in self.trees.items()}
        if self.own is not None:
            out[self.own] = own_cpu()
        return out

    @staticmethod
    def spent(before: Mapping[str, float], after: Mapping[str, float]) -> dict[str, float]:
        return {name: max(0.0, after[name] - before.get(name, 0.0)) for name in after}
