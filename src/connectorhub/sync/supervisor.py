"""A tap's supervisor: the small process the hub starts in the tap's place, so the tap and
whatever it starts die with the hub, however the hub ends (a SIGKILL included).

Run as `python -I supervisor.py <hub pid> <tap executable> <args…>` (standard library only, no
import of the hub). The hub starts it as the leader of a new process group; it asks the kernel
for SIGTERM when the hub dies (`PR_SET_PDEATHSIG`), then runs the tap in the same group with
SIGKILL tied to its own death. On that SIGTERM (or SIGHUP, SIGINT) it kills the whole group:
the tap, a wrapper's children, and itself. Otherwise it waits and exits as the tap did, after
killing what the tap left running in the group (a child holding the tap's stdout open would
keep the hub waiting for the end of the output, and outlive the tap).

PDEATHSIG fires when the *thread* that forked exits: the hub starts taps from its event loop's
thread, which outlives every tap it reads. This supervisor is single-threaded, so its own
`preexec_fn` is safe (it would not be in the hub, which has threads).
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import signal
import subprocess
import sys

PR_SET_PDEATHSIG = 1
ENDING = (signal.SIGTERM, signal.SIGHUP, signal.SIGINT)


def _prctl():
    try:
        return ctypes.CDLL(None, use_errno=True).prctl
    except (AttributeError, OSError):  # not Linux: no tie to the parent
        return None


def _end_group(*_: object) -> None:
    os.killpg(0, signal.SIGKILL)  # the tap, what it started, and this process


def _left_in_group() -> list[int]:
    """Live processes of this process group other than this one (from /proc; none elsewhere)."""
    group, me, found = os.getpgid(0), os.getpid(), []
    try:
        names = os.listdir("/proc")
    except OSError:
        return []
    for name in names:
        if not name.isdigit() or int(name) == me:
            continue
        try:
            with open(f"/proc/{name}/stat") as handle:
                text = handle.read()
        except OSError:
            continue
        state, _, pgrp = text[text.rindex(")") + 2 :].split()[:3]
        if int(pgrp) == group and state not in "ZX":
            found.append(int(name))
    return found


def main(argv: list[str]) -> int:
    hub, command = int(argv[0]), argv[1:]
    for number in ENDING:
        signal.signal(number, _end_group)
    prctl = _prctl()
    if prctl is not None:
        prctl(PR_SET_PDEATHSIG, int(signal.SIGTERM))
    if os.getppid() != hub:  # the hub died before the tie was made
        _end_group()
    me = os.getpid()

    def die_with_me() -> None:  # in the tap, before it execs
        if prctl is not None:
            prctl(PR_SET_PDEATHSIG, int(signal.SIGKILL))
        if os.getppid() != me:
            os._exit(1)

    try:
        tap = subprocess.Popen(command, preexec_fn=die_with_me)
    except OSError as error:
        print(f"cannot start {command[0]}: {error}", file=sys.stderr)
        return 127
    code = tap.wait()
    for pid in _left_in_group():
        with contextlib.suppress(OSError):
            os.kill(pid, signal.SIGKILL)
    if code < 0:  # killed by a signal: so is this process, for the hub to see the same
        with contextlib.suppress(OSError, ValueError):  # SIGKILL has no handler to reset
            signal.signal(-code, signal.SIG_DFL)
        os.kill(me, -code)
        return 128 - code
    return code


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
