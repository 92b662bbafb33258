"""The hub's CPU per row reading a tap's stdout: `TapProcess.lines()` (large reads, split here)
beside one `readline()` per line (how it read before), on the same generated output in the same
run. The writer is a separate process printing `--records` Singer RECORD lines (about 200 bytes
each) as fast as it can; each side parses every line with the sync's SingerParser, as a sync
does, and counts this process's CPU time (not the writer's). The writer flushes after every
line, as singer-python's `write_message` does, so lines arrive one by one. Rounds alternate.

    .venv/bin/python bench/tap_pipe.py [--records 200000] [--rounds 3] [--no-flush]
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import time

from connectorhub.kit.masking import SecretMask
from connectorhub.sync.singer import SingerParser
from connectorhub.sync.tap import LINE_LIMIT_BYTES, TapProcess

WRITER = """
import sys, json
out = sys.stdout.buffer
out.write(json.dumps({"type": "SCHEMA", "stream": "s", "key_properties": ["id"],
    "schema": {"type": "object", "properties": {"id": {"type": "integer"},
    "name": {"type": "string"}, "note": {"type": "string"}}}}).encode() + b"\\n")
import time
note, flush, work = "x" * 150, sys.argv[2] == "1", float(sys.argv[3]) / 1e6
for n in range(int(sys.argv[1])):
    if work:  # the tap's own work per row (a real tap reads its source, builds the message)
        until = time.perf_counter() + work
        while time.perf_counter() < until:
            pass
    out.write(('{"type":"RECORD","stream":"s","record":{"id":%d,"name":"row %d","note":"%s"}}\\n'
               % (n, n, note)).encode())
    if flush:
        out.flush()  # singer-python's write_message flushes after every message
"""


FLUSH, TAP_SECONDS_PER_ROW = True, 0.0


async def writer(records: int) -> asyncio.subprocess.Process:
    return await asyncio.create_subprocess_exec(
        sys.executable, "-c", WRITER, str(records), "1" if FLUSH else "0",
        str(TAP_SECONDS_PER_ROW * 1e6),
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE, limit=LINE_LIMIT_BYTES,
    )  # fmt: skip


async def by_readline(records: int) -> tuple[float, int]:
    process = await writer(records)
    parser, rows, started = SingerParser(), 0, time.process_time()
    assert process.stdout is not None
    while line := await process.stdout.readline():
        rows += parser.parse(line) is not None
    await process.wait()
    return time.process_time() - started, rows


async def by_chunks(records: int) -> tuple[float, int]:
    tap = TapProcess(await writer(records), SecretMask())
    parser, rows, started = SingerParser(), 0, time.process_time()
    async for line in tap.lines():
        rows += parser.parse(line) is not None
    await tap.wait()
    return time.process_time() - started, rows


async def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--records", type=int, default=200_000)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument(
        "--no-flush", action="store_true",
        help="the writer buffers its output (the default flushes every line, as singer-python)",
    )  # fmt: skip
    parser.add_argument(
        "--tap-us", type=float, default=0,
        help="CPU the writer spends per row, like a real tap (tap-postgres: ~79 µs); 0 = flat out",
    )  # fmt: skip
    args = parser.parse_args()
    global FLUSH, TAP_SECONDS_PER_ROW
    FLUSH, TAP_SECONDS_PER_ROW = not args.no_flush, args.tap_us / 1e6
    old, new = [], []
    for round_ in range(args.rounds):
        old_cpu, old_rows = await by_readline(args.records)
        new_cpu, new_rows = await by_chunks(args.records)
        assert old_rows == new_rows == args.records + 1, (old_rows, new_rows)
        old.append(old_cpu)
        new.append(new_cpu)
        print(
            f"round {round_ + 1}: readline {old_cpu / args.records * 1e6:5.2f} µs/row, "
            f"chunks {new_cpu / args.records * 1e6:5.2f} µs/row"
        )
    best_old, best_new = min(old), min(new)
    print(
        f"\nhub CPU per row reading and parsing a tap's stdout ({args.records} records, best of "
        f"{args.rounds}): readline {best_old / args.records * 1e6:.2f} µs, chunked "
        f"{best_new / args.records * 1e6:.2f} µs; chunked/readline = {best_new / best_old:.3f}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
