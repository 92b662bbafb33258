"""CPU per minimal workspace transaction on PostgreSQL (BEGIN, bind the workspace, read the
binding back, COMMIT) through SQLAlchemy's async session and psycopg, as the app opens them:
the binding as its own statement (`db.bind_tenant`) against the binding sent in a psycopg
pipeline together with the implicit BEGIN (one round trip instead of two). Alternates four
times, 3,000 transactions each. Issue 17, P3a: a lever tried and dropped (no measurable gain).

    .venv/bin/python bench/transaction_cost.py      # PostgreSQL at 127.0.0.1:5432, database `test`
"""

import asyncio
import time

from sqlalchemy import select, text
from sqlalchemy.ext.asyncio import async_sessionmaker, create_async_engine


async def bind_as_statement(session, tenant):  # what db.bind_tenant does
    await session.execute(
        select(text("set_config('app.tenant_id', :tenant, true)")).params(tenant=tenant)
    )


async def bind_pipelined_with_begin(session, tenant):
    connection = await session.connection()
    driver = (await connection.get_raw_connection()).driver_connection
    async with driver.pipeline():  # psycopg queues its implicit BEGIN and this: one round trip
        await driver.execute("SELECT set_config('app.tenant_id', %s, true)", [tenant])


async def transaction_cost(bind, transactions: int = 3000) -> tuple[float, float]:
    """(CPU µs, wall µs) per transaction with `bind` as the workspace binding."""
    engine = create_async_engine("postgresql+psycopg://postgres@127.0.0.1:5432/test", pool_size=5)
    sessions = async_sessionmaker(engine, expire_on_commit=False)

    async def transaction() -> None:
        async with sessions() as session, session.begin():
            await bind(session, "ws-1")
            bound = await session.scalar(text("SELECT current_setting('app.tenant_id')"))
            assert bound == "ws-1", bound

    for _ in range(200):  # warm: pool filled, statements cached
        await transaction()
    cpu, wall = time.process_time(), time.perf_counter()
    for _ in range(transactions):
        await transaction()
    cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
    await engine.dispose()
    return cpu / transactions * 1e6, wall / transactions * 1e6


async def main() -> None:
    sides = {"as its own statement": bind_as_statement,
             "pipelined with BEGIN": bind_pipelined_with_begin}  # fmt: skip
    cpu: dict[str, list[float]] = {name: [] for name in sides}
    for _ in range(4):
        for name, bind in sides.items():
            cpu_us, wall_us = await transaction_cost(bind)
            cpu[name].append(cpu_us)
            print(f"binding {name}: {cpu_us:5.0f} µs CPU, {wall_us:5.0f} µs wall per transaction")
    base, tried = (sorted(values)[len(values) // 2] for values in cpu.values())
    print(f"median CPU per transaction: {base:.0f} → {tried:.0f} µs, ratio {tried / base:.2f}")


asyncio.run(main())
