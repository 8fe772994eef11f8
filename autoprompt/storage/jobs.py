"""The job table of a shared refinement run: model requests that any worker may take.

Contract:
- ``JobQueue(url, run)`` is the table ``autoprompt_jobs`` of any SQLAlchemy database (PostgreSQL for
  runs shared between machines), rows of the run ``run`` only: one database holds many runs, and no
  run takes or sees another's jobs.
- The run's first process ``submit``s requests (a method name and its JSON arguments each; ids are
  never given twice) and reads answers with ``answers(ids)``, which also removes the rows it returns.
- A worker ``claim``s up to ``n`` waiting jobs in one UPDATE that takes a row only while it still
  waits, so two workers never take the same job (on any database). It
  ``beat``s while it works and ``finish``es each job with its answer (JSON).
- A job whose worker has been silent for ``grace`` seconds waits again (``requeue_stale``), so the
  work of a worker that died is taken over by another; an answer that arrives late is still
  accepted, and a job is answered once (the first ``finish`` wins).
- ``reset()`` forgets the run's jobs (a run started again under its name); ``close()`` marks the run
  over, so its workers stop; ``is_closed()`` says so.
Times are the machines' wall clocks, which must agree to within a second or so.
"""

from __future__ import annotations

import json
import time
from collections.abc import Sequence
from typing import Any

from autoprompt.storage.shared import create_table, engine_for

GRACE = 8.0  # seconds a claimed job may go without a heartbeat


class JobQueue:
    """The jobs of one shared run (see the module contract)."""

    def __init__(self, url: str, run: str, *, grace: float = GRACE) -> None:
        self.url = url
        self.run = run
        self.grace = grace
        self._tables: tuple[Any, Any, Any] | None = None

    def _ready(self) -> tuple[Any, Any, Any]:
        if self._tables is None:
            import sqlalchemy as sa

            engine = engine_for(self.url)
            meta = sa.MetaData()
            jobs = sa.Table(
                "autoprompt_jobs", meta,
                sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
                sa.Column("run", sa.String(64), nullable=False, index=True),
                sa.Column("method", sa.String(32), nullable=False),
                sa.Column("request", sa.Text, nullable=False),
                sa.Column("state", sa.String(8), nullable=False),  # waiting, running, done
                sa.Column("worker", sa.String(128)),
                sa.Column("heartbeat", sa.Float),
                sa.Column("answer", sa.Text),
                sqlite_autoincrement=True)  # an id is never given twice, though answered rows are removed
            closed = sa.Table("autoprompt_closed_runs", meta, sa.Column("run", sa.String(64), primary_key=True))
            for table in (jobs, closed):
                create_table(engine, table)
            self._tables = engine, jobs, closed
        return self._tables

    def submit(self, requests: Sequence[tuple[str, dict[str, Any]]]) -> list[int]:
        """Queue ``requests`` (method, arguments) in one transaction; their ids, in order."""
        if not requests:
            return []
        engine, jobs, _ = self._ready()
        rows = [{"run": self.run, "method": method, "request": json.dumps(request), "state": "waiting"}
                for method, request in requests]
        with engine.begin() as conn:
            ids = conn.execute(jobs.insert().returning(jobs.c.id, sort_by_parameter_order=True), rows).scalars()
            return [int(job) for job in ids]

    def answers(self, ids: Sequence[int]) -> dict[int, Any]:
        """The answers of the jobs ``ids`` that have one, by id; their rows are removed."""
        if not ids:
            return {}
        engine, jobs, _ = self._ready()
        with engine.begin() as conn:
            done = conn.execute(jobs.select().with_only_columns(jobs.c.id, jobs.c.answer).where(
                jobs.c.id.in_(list(ids)), jobs.c.state == "done")).all()
            if done:
                conn.execute(jobs.delete().where(jobs.c.id.in_([row.id for row in done])))
        return {int(row.id): json.loads(row.answer) for row in done}

    def claim(self, worker: str, n: int, *, now: float | None = None) -> list[tuple[int, str, dict[str, Any]]]:
        """Up to ``n`` waiting jobs, oldest first, now this worker's: (id, method, request). One UPDATE that
        takes only rows still waiting when it writes them, so a row another worker took meanwhile is left."""
        engine, jobs, _ = self._ready()
        oldest = jobs.select().with_only_columns(jobs.c.id).where(
            jobs.c.run == self.run, jobs.c.state == "waiting").order_by(jobs.c.id).limit(n).scalar_subquery()
        with engine.begin() as conn:
            taken = conn.execute(jobs.update().where(jobs.c.id.in_(oldest), jobs.c.state == "waiting").values(
                state="running", worker=worker, heartbeat=time.time() if now is None else now).returning(
                jobs.c.id, jobs.c.method, jobs.c.request)).all()
        return sorted((int(row.id), str(row.method), json.loads(row.request)) for row in taken)

    def beat(self, ids: Sequence[int], *, now: float | None = None) -> None:
        if not ids:
            return
        engine, jobs, _ = self._ready()
        with engine.begin() as conn:
            conn.execute(jobs.update().where(jobs.c.id.in_(list(ids)), jobs.c.state == "running").values(
                heartbeat=time.time() if now is None else now))

    def finish(self, job: int, answer: Any) -> None:
        engine, jobs, _ = self._ready()
        with engine.begin() as conn:
            conn.execute(jobs.update().where(jobs.c.id == job, jobs.c.state != "done").values(
                state="done", answer=json.dumps(answer)))

    def requeue_stale(self, *, now: float | None = None) -> int:
        """Jobs whose worker has been silent for ``grace`` seconds wait again; how many."""
        engine, jobs, _ = self._ready()
        cutoff = (time.time() if now is None else now) - self.grace
        with engine.begin() as conn:
            return int(conn.execute(jobs.update().where(
                jobs.c.run == self.run, jobs.c.state == "running", jobs.c.heartbeat < cutoff).values(
                state="waiting", worker=None)).rowcount)

    def reset(self) -> None:
        engine, jobs, closed = self._ready()
        with engine.begin() as conn:
            conn.execute(jobs.delete().where(jobs.c.run == self.run))
            conn.execute(closed.delete().where(closed.c.run == self.run))

    def close(self) -> None:
        engine, jobs, closed = self._ready()
        with engine.begin() as conn:
            conn.execute(jobs.delete().where(jobs.c.run == self.run))
            if not conn.execute(closed.select().where(closed.c.run == self.run)).first():
                conn.execute(closed.insert().values(run=self.run))

    def is_closed(self) -> bool:
        engine, _, closed = self._ready()
        with engine.connect() as conn:
            return conn.execute(closed.select().where(closed.c.run == self.run)).first() is not None
