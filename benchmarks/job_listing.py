"""A page of the job list for an owner with 10,000 jobs against one with 100, same database, same run.

Keyset pagination on an index makes a page cost the same whatever the owner's job count. For each sort
(and a sort with a filter) it times a first page and a page deep into the listing (limit 50, through the
store's repository) for both owners and prints big/small (lower is better; the goal is <= 2). SQLite by
default; `--postgres ADMIN_URL` adds a database of its own on that server, dropped at the end.
"""

import argparse
import random
import secrets
import statistics
import tempfile
import time
import uuid
from datetime import timedelta
from pathlib import Path

from sqlalchemy import create_engine, insert

from contracts.spec import CANONICAL_EXAMPLE
from store import (
    Job,
    JobRepository,
    JobStatus,
    SessionFactory,
    make_engine,
    make_session_factory,
    read_scope,
    session_scope,
)
from store.migrate import upgrade
from store.timestamps import utcnow

BIG, SMALL = 10_000, 100
LIMIT = 50
STATUS_WEIGHTS = [1, 1, 6, 1, 1]  # queued, running, succeeded (most jobs end well), failed, cancelled
CASES = [
    ("-created_at", {}),
    ("name", {}),
    ("-lr", {}),
    ("batch_size", {}),
    ("-progress", {}),
    ("status", {}),
    ("-lr", {"status": JobStatus.SUCCEEDED}),
]


def job_rows(owner: str, count: int, rng: random.Random) -> list[dict]:
    """`count` jobs of `owner` as a bulk insert takes them: few distinct values per column, so many ties."""
    now = utcnow()
    return [
        {
            "id": uuid.uuid4(),
            "owner": owner,
            "name": f"run-{rng.randrange(count // 4 + 1):05d}",
            "status": rng.choices(list(JobStatus), weights=STATUS_WEIGHTS)[0],
            "spec": CANONICAL_EXAMPLE,
            "norm": rng.choice(["batchnorm", "none"]),
            "arch": "mlp",
            "dataset": "mnist1d",
            "lr": rng.choice([0.01, 0.05, 0.1, 0.5, 1.0]),
            "batch_size": rng.choice([32, 60, 128]),
            "seed": rng.randrange(5),
            "progress": rng.choice([0.0, 0.25, 0.5, 1.0]),
            "request_hash": "0" * 64,
            "created_at": now - timedelta(seconds=index),
            "updated_at": now,
        }
        for index in range(count)
    ]


def seed(factory: SessionFactory) -> tuple[str, str]:
    """A big and a small owner, inserted in bulk (no HTTP, no repository per job)."""
    rng, big, small = random.Random(0), f"big-{secrets.token_hex(4)}", f"small-{secrets.token_hex(4)}"
    with session_scope(factory) as session:
        for owner, count in ((big, BIG), (small, SMALL)):
            session.execute(insert(Job), job_rows(owner, count, rng))
    return big, small


def middle_cursor(factory: SessionFactory, owner: str, sort: str, filters: dict) -> str | None:
    """The cursor of the full page in the middle of the owner's listing (None when it holds a page at most)."""
    with read_scope(factory) as session:
        jobs = JobRepository(session)
        listed = len(jobs.list(owner, sort=sort, limit=BIG, **filters).jobs)
        middle = (listed - LIMIT) // 2
        return jobs.list(owner, sort=sort, limit=middle, **filters).next_cursor if middle > 0 else None


def page_ms(factory: SessionFactory, owner: str, sort: str, filters: dict, cursor: str | None) -> float:
    """Milliseconds to read one page in a read scope of its own, as the API does; the page must be full."""
    started = time.perf_counter()
    with read_scope(factory) as session:
        listed = JobRepository(session).list(owner, sort=sort, limit=LIMIT, cursor=cursor, **filters).jobs
    elapsed = (time.perf_counter() - started) * 1e3
    assert len(listed) == LIMIT, f"{owner} has no full page for {sort} {filters}: the comparison would be unfair"
    return elapsed


def timed(factory: SessionFactory, owners: tuple[str, str], case: tuple[str, dict], middle: bool, repeats: int):
    """Median ms of the big and the small owner's page, timed alternately so that drift hits both alike."""
    sort, filters = case
    cursors = [middle_cursor(factory, owner, sort, filters) if middle else None for owner in owners]
    times: tuple[list[float], list[float]] = ([], [])
    for _ in range(repeats):
        for samples, owner, cursor in zip(times, owners, cursors, strict=True):
            samples.append(page_ms(factory, owner, sort, filters, cursor))
    return statistics.median(times[0]), statistics.median(times[1])


def report(backend: str, url: str, repeats: int) -> None:
    """Migrate, seed and time every case on one database."""
    upgrade(url)
    engine = make_engine(url)
    factory = make_session_factory(engine)
    owners = seed(factory)
    if engine.dialect.name == "postgresql":  # what autovacuum does soon after a bulk insert
        with engine.begin() as connection:
            connection.exec_driver_sql("ANALYZE jobs")
    for case in CASES:
        for middle in (False, True):
            big, small = timed(factory, owners, case, middle, repeats)
            sort = case[0] + "".join(f" {key}={value}" for key, value in case[1].items())
            page = "middle" if middle else "first"
            print(f"{backend:<11} {sort:<28} {page:<7} {big:9.2f} {small:9.2f} {big / small:9.2f}")
    engine.dispose()


def on_postgres(admin_url: str, repeats: int) -> None:
    """The report on a fresh database of our own on the server, dropped afterwards."""
    admin = create_engine(admin_url, isolation_level="AUTOCOMMIT")
    name = f"bnlab_bench_{secrets.token_hex(6)}"
    with admin.connect() as connection:
        connection.exec_driver_sql(f"CREATE DATABASE {name}")
    try:
        report("postgresql", admin.url.set(database=name).render_as_string(hide_password=False), repeats)
    finally:
        with admin.connect() as connection:
            connection.exec_driver_sql(f"DROP DATABASE {name} WITH (FORCE)")
        admin.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=30, help="pages timed per owner and case (median taken)")
    parser.add_argument("--postgres", metavar="ADMIN_URL", help="also on PostgreSQL (a database it may create)")
    args = parser.parse_args()
    print(f"{BIG} jobs (big) vs {SMALL} (small), limit {LIMIT}; ms are medians of {args.repeats} pages")
    print(f"{'backend':<11} {'sort':<28} {'page':<7} {'big ms':>9} {'small ms':>9} {'big/small':>9}")
    with tempfile.TemporaryDirectory() as folder:
        report("sqlite", f"sqlite:///{Path(folder) / 'bench.sqlite'}", args.repeats)
    if args.postgres:
        on_postgres(args.postgres, args.repeats)


if __name__ == "__main__":
    main()
