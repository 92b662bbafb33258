"""Running a tap: config, catalog and state files that exist only while it runs (mode 0600, in
a private working directory under `<data_dir>/taps/`, see sync/workdirs.py), an environment
without the hub's secrets, a supervisor that ties it to the hub (sync/supervisor.py: the tap and
what it starts die with the hub, even a SIGKILLed one), its own process group (a timeout or a
cancel kills the tap and anything it started), and its stderr kept as a short tail with every
secret masked, in the escaped forms a tap prints too (kit/masking.py)."""

from __future__ import annotations

import asyncio
import collections
import contextlib
import fcntl
import json
import os
import re
import signal
import sys
from collections.abc import AsyncIterator, Iterable, Iterator
from pathlib import Path
from typing import Any, NamedTuple

from connectorhub.kit.masking import REDACTED, SecretMask
from connectorhub.kit.plugins import clean_env
from connectorhub.sync import workdirs

MASK = REDACTED
TAIL_LINES = 40
READ_CHUNK_BYTES = 256 * 1024
# After a read that found less than a quarter of what the pipe holds (at most READ_CHUNK_BYTES),
# the pipe is left alone this long so the tap's output gathers in it (a tap flushing every line
# would otherwise wake the hub for every line: ~55 µs of the hub's CPU per row against ~6,
# bench/tap_pipe.py --tap-us 79).
GATHER_SECONDS = 0.01
PIPE_BYTES = 1024 * 1024  # the tap's stdout pipe, so GATHER_SECONDS of output fit in it
LINE_LIMIT_BYTES = 64 * 1024 * 1024  # a single RECORD line may be large
SUPERVISOR = Path(__file__).with_name("supervisor.py")
_AUTH_SIGNS = re.compile(
    r"(?i)password authentication failed|authentication failed|invalid[_ ]grant|unauthori[sz]ed"
    r"|\b401\b|\b403\b|invalid_session_id|invalid credentials|access denied|permission denied"
)
_CONFIG_SIGNS = re.compile(
    r"(?i)could not translate host name|name or service not known|connection refused"
    r"|does not exist|config validation|is a required property|invalid config|no route to host"
    r"|timeout expired|could not connect|temporary failure in name resolution"
)


class TapFailed(Exception):
    """kind: `auth` or `config` (the user can fix it), `timeout`, `crash`, `protocol`."""

    def __init__(self, kind: str, message: str, stderr_tail: str = ""):
        super().__init__(message)
        self.kind, self.message, self.stderr_tail = kind, message, stderr_tail


def mask_of(secrets: Iterable[Any]) -> SecretMask:
    """Every secret value, with the forms it takes when printed escaped (JSON, repr, URL)."""
    return SecretMask([s for s in secrets if s is not None])


def classify(stderr_tail: str) -> str:
    if _AUTH_SIGNS.search(stderr_tail):
        return "auth"
    if _CONFIG_SIGNS.search(stderr_tail):
        return "config"
    return "crash"


@contextlib.contextmanager
def tap_files(root: Path, prefix: str, **documents: Any) -> Iterator[dict[str, Path]]:
    """`config.json`, `catalog.json`, `state.json` (those given) in a new private working
    directory under `root` (named `<prefix>…`, see sync/workdirs.py), removed after; the
    directory itself is `paths["directory"]`."""
    with workdirs.tap_directory(root, prefix) as directory:
        paths = {"directory": directory}
        for name, content in documents.items():
            if content is None:
                continue
            path = directory / f"{name}.json"
            descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(descriptor, "w") as handle:
                json.dump(content, handle)
            paths[name] = path
        yield paths


def sync_arguments(capabilities: list[str], paths: dict[str, Path]) -> list[str]:
    """A sync's command line: the config, the catalog (as `--properties` for the old taps that
    only know that flag) and the state when there is one."""
    flag = (
        "--properties"
        if "properties" in capabilities and "catalog" not in capabilities
        else "--catalog"
    )
    args = ["--config", str(paths["config"]), flag, str(paths["catalog"])]
    if "state" in paths:
        args += ["--state", str(paths["state"])]
    return args


def rewritten_settings(config_path: Path, given: dict[str, Any]) -> dict[str, Any]:
    """Settings the tap wrote back into its config file (tap-salesforce does when Salesforce
    rotates its refresh token): they must be kept, or the next run signs in with a dead one."""
    try:
        now = json.loads(config_path.read_text())
    except (OSError, ValueError):
        return {}
    if not isinstance(now, dict):
        return {}
    return {k: v for k, v in now.items() if given.get(k) != v}


class TapPipe(NamedTuple):
    """A tap's stdout as start_tap reads it; a read under `short_read` bytes lets it gather."""

    reader: asyncio.StreamReader
    transport: asyncio.ReadTransport
    short_read: int


class TapProcess:
    """A running tap: `lines()` yields stdout lines; stderr is kept as a tail, masked when read
    (whole, so a secret printed across lines is masked too). `stdout`: the tap's stdout as
    start_tap reads it (a reader and the pipe's transport, which `lines()` pauses while output
    gathers); without it, the process's own stdout is read as it comes."""

    def __init__(
        self, process: asyncio.subprocess.Process, mask: SecretMask,
        stdout: TapPipe | None = None,
    ):  # fmt: skip
        self.process, self.mask = process, mask
        self._stdout, self._stdout_pipe, self._short_read = stdout or (process.stdout, None, 0)
        self._stderr: collections.deque[str] = collections.deque(maxlen=TAIL_LINES)
        self._stderr_task = asyncio.create_task(self._read_stderr())

    async def _read_stderr(self) -> None:
        assert self.process.stderr is not None
        async for raw in self.process.stderr:
            self._stderr.append(raw.decode("utf-8", "replace").rstrip())

    @property
    def stderr_tail(self) -> str:
        return self.mask.text("\n".join(self._stderr))

    async def lines(self) -> AsyncIterator[bytes]:
        """Lines without their newline (see `chunks`)."""
        async for chunk in self.chunks():
            for line in chunk:
                yield line

    async def chunks(self) -> AsyncIterator[list[bytes]]:
        """The lines each read of the pipe completed, without their newline. The pipe is read in
        large chunks and split here, which costs about a third less CPU per row than one
        `readline()` per line (bench/tap_pipe.py); a long line's parts are joined once, not
        copied per chunk. A caller waits once per chunk, not per line (the loader notices a
        quiet tap that way). After a short read the pipe rests GATHER_SECONDS (see there) when
        it is start_tap's."""
        stdout, pipe = self._stdout, self._stdout_pipe
        assert stdout is not None
        head: list[bytes] = []  # the start of a line that has no newline yet
        head_bytes = 0
        while chunk := await stdout.read(READ_CHUNK_BYTES):
            first, newline, rest = chunk.partition(b"\n")
            if not newline:
                head.append(chunk)
                head_bytes += len(chunk)
                if head_bytes > LINE_LIMIT_BYTES:
                    raise ValueError(f"a line of the tap's output is over {LINE_LIMIT_BYTES} bytes")
                continue
            *complete, tail = rest.split(b"\n")
            complete.insert(0, b"".join((*head, first)) if head else first)
            yield complete
            head, head_bytes = ([tail], len(tail)) if tail else ([], 0)
            if pipe is not None and len(chunk) < self._short_read:
                await _gather(pipe)
        if head:
            yield [b"".join(head)]

    def kill(self) -> None:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.process.pid, signal.SIGKILL)

    def close_stdout(self) -> None:
        if self._stdout_pipe is not None:
            self._stdout_pipe.close()

    async def wait(self) -> int:
        code = await self.process.wait()
        await self._stderr_task
        return code


async def _gather(pipe: asyncio.ReadTransport) -> None:
    """Nothing read from `pipe` for GATHER_SECONDS: the tap's writes wait in the pipe and come
    as one read after, instead of each waking the event loop."""
    pipe.pause_reading()
    try:
        await asyncio.sleep(GATHER_SECONDS)
    finally:
        if not pipe.is_closing():
            pipe.resume_reading()


async def _read_pipe(fd: int) -> TapPipe:
    """A reader of the pipe's read end `fd` (enlarged to PIPE_BYTES where the system lets it)."""
    holds = 64 * 1024  # Linux's default
    with contextlib.suppress(OSError, AttributeError):  # F_SETPIPE_SZ: Linux only, capped
        fcntl.fcntl(fd, fcntl.F_SETPIPE_SZ, PIPE_BYTES)
    with contextlib.suppress(OSError, AttributeError):  # a user past its pipe quota gets less
        holds = fcntl.fcntl(fd, fcntl.F_GETPIPE_SZ)
    loop = asyncio.get_running_loop()
    reader = asyncio.StreamReader(limit=LINE_LIMIT_BYTES, loop=loop)
    transport, _ = await loop.connect_read_pipe(
        lambda: asyncio.StreamReaderProtocol(reader, loop=loop), os.fdopen(fd, "rb", buffering=0)
    )
    return TapPipe(reader, transport, min(holds, READ_CHUNK_BYTES) // 4)


@contextlib.asynccontextmanager
async def start_tap(
    executable: Path, args: list[str], *, secrets: Iterable[Any], directory: Path,
    stdin: bool = False,
) -> AsyncIterator[TapProcess]:  # fmt: skip
    """The tap (or a target, fed on its stdin when `stdin`), under its supervisor, in
    `directory` (from tap_files: its processes carry the directory's name, see
    sync/workdirs.py)."""
    # Its stdout is a pipe of ours (not asyncio's), so that lines() can pause reading it.
    read_end, write_end = os.pipe()
    try:
        process = await asyncio.create_subprocess_exec(
            sys.executable, "-I", str(SUPERVISOR), str(os.getpid()), str(executable), *args,
            stdin=asyncio.subprocess.PIPE if stdin else None,
            stdout=write_end, stderr=asyncio.subprocess.PIPE,
            env=workdirs.tap_environment(clean_env(), directory),
            start_new_session=True,  # its own process group, killed as one
            limit=LINE_LIMIT_BYTES,
        )  # fmt: skip
    except BaseException:
        os.close(read_end)
        raise
    finally:
        os.close(write_end)
    tap = TapProcess(process, mask_of(secrets), await _read_pipe(read_end))
    try:
        yield tap
    finally:
        if process.returncode is None:
            tap.kill()
            await tap.wait()
        tap.close_stdout()


async def discover(
    executable: Path, config: dict[str, Any], *, secrets: Iterable[Any], seconds: float,
    root: Path, prefix: str = "test-", rewritten: dict[str, Any] | None = None,
) -> dict[str, Any]:  # fmt: skip
    """The tap's catalog, its working directory under `root`. Raises TapFailed with its
    (masked) stderr tail. Settings the tap rewrote in its config file go into `rewritten`,
    whether it succeeded or not."""
    with tap_files(root, prefix, config=config) as paths:
        try:
            async with start_tap(
                executable, ["--config", str(paths["config"]), "--discover"], secrets=secrets,
                directory=paths["directory"],
            ) as tap:  # fmt: skip
                try:
                    stdout, code = await asyncio.wait_for(_collect(tap), seconds)
                except TimeoutError:
                    tap.kill()
                    await tap.wait()
                    raise TapFailed(
                        "timeout", f"discovery took longer than {seconds:.0f} s", tap.stderr_tail
                    ) from None
        finally:
            if rewritten is not None:
                rewritten.update(rewritten_settings(paths["config"], config))
    if code != 0:
        tail = tap.stderr_tail
        raise TapFailed(
            classify(tail), _last_error_line(tail) or f"the tap exited with {code}", tail
        )
    try:
        catalog = json.loads(stdout)
    except json.JSONDecodeError:
        raise TapFailed(
            "protocol", "discovery did not print a JSON catalog", tap.stderr_tail
        ) from None
    if not isinstance(catalog, dict) or not isinstance(catalog.get("streams"), list):
        raise TapFailed("protocol", "discovery printed no streams", tap.stderr_tail)
    return catalog


async def _collect(tap: TapProcess) -> tuple[bytes, int]:
    lines = [line async for line in tap.lines()]
    return b"\n".join(lines), await tap.wait()


def _last_error_line(tail: str) -> str:
    lines = [line.strip() for line in tail.splitlines() if line.strip()]
    for line in reversed(lines):
        if re.search(r"(?i)error|exception|failed|fatal", line):
            return line[:500]
    return lines[-1][:500] if lines else ""
