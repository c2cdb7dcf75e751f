"""`python -m bot migrate` as a deploy job runs it: only DATABASE_URL, once or twice, several at the same time."""

from __future__ import annotations

import asyncio
import os
import sys

from bot.storage.db import make_engine, schema_revisions


async def migrate(database_url: str, cwd) -> tuple[int, str]:
    env = {key: value for key, value in os.environ.items() if key != "BOT_TOKEN"}
    env["DATABASE_URL"] = database_url
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "bot", "migrate", cwd=cwd, env=env,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT)
    output, _ = await asyncio.wait_for(process.communicate(), 60)
    return process.returncode, output.decode()


async def test_migrate_brings_an_empty_database_to_the_newest_revision(database_url, postgres_server, tmp_path):
    if database_url.startswith("postgresql"):  # the fixture's database is a migrated copy: start from nothing
        postgres_server.psql("CREATE DATABASE migrate_from_empty")
        database_url = postgres_server.url("migrate_from_empty")
    first, second = await migrate(database_url, tmp_path), await migrate(database_url, tmp_path)
    engine = make_engine(database_url)
    try:
        current, head = await schema_revisions(engine)
    finally:
        await engine.dispose()
    assert current == head
    assert first[0] == 0 and f"database at revision {head} (was empty)" in first[1]
    assert second[0] == 0 and f"database at revision {head}\n" in second[1]


async def test_replicas_migrating_at_once_on_postgresql_take_turns(postgres_server, tmp_path):
    postgres_server.psql("CREATE DATABASE migrate_at_once")
    url = postgres_server.url("migrate_at_once")
    results = await asyncio.gather(*(migrate(url, tmp_path) for _ in range(3)))
    assert [code for code, _ in results] == [0, 0, 0], results
    assert sum("(was empty)" in output for _, output in results) == 1
