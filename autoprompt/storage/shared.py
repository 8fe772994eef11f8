"""Shared runs: one Optuna study and one response cache at a database URL, worked on by
several processes (on one machine or many) for the component search.

Contract:
- ``SQLCache(url)`` is a ``ResponseCache`` in the table ``autoprompt_responses`` of any
  SQLAlchemy database (PostgreSQL for runs shared between machines). When two workers
  store the same request, the first answer stays.
- ``SharedRun(url, name=...)`` is the study ``name`` (default ``autoprompt``) in ``url`` (Optuna's RDB
  storage; one database holds many runs, each under its own name, whose budgets, rate limits and trials
  never mix; ``runs()`` lists them) with
  heartbeats: a trial whose worker has been silent for ``grace`` seconds is failed by
  the next worker that asks for one, and its parameters are queued again once, so the
  claim of a worker that died is taken over. The run's arguments are the study's user
  attribute ``arguments``.
- Claims: a trial is evaluated only by the worker that asked for it (Optuna marks it
  RUNNING in the database), and ``HeartbeatProposal`` keeps that worker's heartbeat
  while it evaluates. Each finished trial stores its predictions, calls and worker PID
  as user attributes, so any process can rebuild every worker's trials
  (``search.shared_strategy.shared_trials``).
- Budget: the table ``autoprompt_budget`` holds the run's calls, tokens and USD, charged by
  every process. ``charge(n, calls=, tokens=, usd=)`` is one UPDATE that adds ``n`` calls only
  while every cap still holds (True) or changes nothing (False), so N workers together stop
  at the cap, never N times it; ``add_usage`` adds tokens and USD; ``spent()`` is the calls
  charged so far. ``create`` starts the counts at zero.
- Rate limits: the table ``autoprompt_requests`` holds the time and tokens of every process's
  requests of the last minute. ``admit(tokens, wait)`` asks ``wait(events, now)`` (the limiter's
  window arithmetic, ``models.ratelimit.wait_time``) how long until one more request fits, given
  those requests oldest first; it adds the request and returns 0 when it fits now, else returns the
  seconds to wait (adding nothing). The run's
  budget row is locked first, so two processes never both take the last place. Times are the
  machines' wall clocks, which must agree to within a second or so.
- ``work(url, model=...)`` joins a shared run as a worker: the same loop as ``optimize``,
  no finalization. The process that created the run (``optimize(storage=url,
  strategy="components")``) waits for running trials once the budget is spent, then
  completes the top candidates on dev, scores the test set and exports.
"""

from __future__ import annotations

import json
import threading
import time
import warnings
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from autoprompt.errors import ConfigError, MissingDependency, excerpt, without_credentials

if TYPE_CHECKING:
    import optuna

STUDY = "autoprompt"
HEARTBEAT = 2
GRACE = 8


_ENGINES: dict[str, Any] = {}  # one connection pool per database for the whole process
_ENGINES_LOCK = threading.Lock()


def engine_for(url: str) -> Any:
    """The process's engine for ``url``: every part of a shared run (cache, budget, rate limits, job table)
    draws on one pool, so a process holds at most ``POOL`` connections to the database, however many
    threads ask at once."""
    with _ENGINES_LOCK:
        if url not in _ENGINES:
            _ENGINES[url] = _new_engine(url)
        return _ENGINES[url]


POOL = 30  # connections one process may hold: 10 kept open, 20 more while busy


def _new_engine(url: str) -> Any:
    try:
        import sqlalchemy
    except ImportError:
        raise MissingDependency("sqlalchemy") from None
    try:
        if sqlalchemy.engine.make_url(url).get_backend_name() == "sqlite":
            return sqlalchemy.create_engine(url, pool_pre_ping=True)
        return sqlalchemy.create_engine(url, pool_pre_ping=True, pool_size=10, max_overflow=POOL - 10)
    except ModuleNotFoundError as exc:
        raise MissingDependency(exc.name or "a database driver", "postgres") from None
    except sqlalchemy.exc.ArgumentError as exc:
        raise ConfigError(f"storage URL {excerpt(url)} is not valid ({without_credentials(str(exc))[:200]}); use e.g. "
                          "postgresql://user@host:5432/db or sqlite:///run.db") from None


def opened_runs(url: str) -> list[str]:
    """The names of the runs at ``url`` whose first process has saved their settings, read without creating
    any table (Optuna's storage creates its tables, and a first process may be creating them meanwhile)."""
    import sqlalchemy as sa

    engine = engine_for(url)
    try:
        if not sa.inspect(engine).has_table("study_user_attributes"):
            return []
        with engine.connect() as conn:
            found = conn.execute(sa.text("SELECT s.study_name FROM studies s JOIN study_user_attributes a ON "
                                         "a.study_id = s.study_id WHERE a.key = 'arguments'"))
            return sorted(str(name) for name, in found)
    except sa.exc.DBAPIError:
        _reachable(url)  # a database that is down: one line naming it
        raise


def shown(url: str) -> str:
    """``url`` as messages may show it: its password hidden."""
    import sqlalchemy

    return sqlalchemy.engine.make_url(url).render_as_string(hide_password=True)


def _reachable(url: str) -> None:
    """``ConfigError`` naming the database (never its password) when nothing answers at ``url``."""
    import sqlalchemy

    engine = _new_engine(url)
    try:
        with engine.connect():
            pass
    except sqlalchemy.exc.DBAPIError as exc:
        reason = " ".join(str(exc.orig).split())[:200]
        raise ConfigError(f"cannot connect to the storage database {shown(url)} ({reason}); start it, or fix "
                          "--storage") from None
    finally:
        engine.dispose()


def create_table(engine: Any, table: Any) -> None:
    """Create ``table`` unless it exists; two processes creating it at once is not an error."""
    import sqlalchemy as sa

    try:
        table.metadata.create_all(engine, checkfirst=True)
    except (sa.exc.ProgrammingError, sa.exc.IntegrityError, sa.exc.OperationalError):
        if not sa.inspect(engine).has_table(table.name):
            raise


class SQLCache:
    """Responses in a database table, shared by every worker of a run."""

    def __init__(self, url: str) -> None:
        self.url = url
        self._engine: Any = None
        self._table: Any = None

    def _ready(self) -> tuple[Any, Any]:
        if self._engine is None:
            import sqlalchemy as sa

            engine = engine_for(self.url)
            table = sa.Table("autoprompt_responses", sa.MetaData(), sa.Column("key", sa.String(64), primary_key=True),
                             sa.Column("value", sa.Text, nullable=False))
            create_table(engine, table)
            self._engine, self._table = engine, table
        return self._engine, self._table

    def get(self, key: str) -> Any | None:
        engine, table = self._ready()
        with engine.connect() as conn:
            row = conn.execute(table.select().where(table.c.key == key)).first()
        return json.loads(row.value) if row else None

    def put(self, key: str, value: Any) -> None:
        import sqlalchemy as sa

        engine, table = self._ready()
        try:
            with engine.begin() as conn:
                conn.execute(table.insert().values(key=key, value=json.dumps(value)))
        except sa.exc.IntegrityError:
            pass  # another worker stored this answer first


class SharedRun:
    """The study, budget and cache of a run at a database URL."""

    def __init__(self, url: str, *, name: str = STUDY, heartbeat: float = HEARTBEAT, grace: float = GRACE) -> None:
        self.url = url
        self.name = name
        self.heartbeat = heartbeat
        self.grace = grace
        self._storage: Any = None
        self._counts: tuple[Any, Any] | None = None
        self._requests: Any = None

    def _budget_table(self) -> tuple[Any, Any]:
        """The engine and the counts table, created once; the run's row is added if missing."""
        if self._counts is None:
            import sqlalchemy as sa

            engine = engine_for(self.url)
            table = sa.Table("autoprompt_budget", sa.MetaData(), sa.Column("run", sa.String(64), primary_key=True),
                             sa.Column("calls", sa.BigInteger, nullable=False),
                             sa.Column("tokens", sa.BigInteger, nullable=False),
                             sa.Column("usd", sa.Float, nullable=False))
            create_table(engine, table)
            try:
                with engine.begin() as conn:
                    conn.execute(table.insert().values(run=self.name, calls=0, tokens=0, usd=0.0))
            except sa.exc.IntegrityError:
                pass  # the row exists: another process added it
            self._counts = engine, table
        return self._counts

    def charge(self, n: int, *, calls: int | None, tokens: int | None = None, usd: float | None = None) -> bool:
        """Add ``n`` calls in one statement, only if the calls stay within ``calls`` and the tokens and
        USD spent are still below their caps; whether it was charged."""
        engine, table = self._budget_table()
        row = table.c.run == self.name
        holds = [row, *([table.c.calls + n <= calls] if calls is not None else []),
                 *([table.c.tokens < tokens] if tokens is not None else []),
                 *([table.c.usd < usd] if usd is not None else [])]
        with engine.begin() as conn:
            return bool(conn.execute(table.update().where(*holds).values(calls=table.c.calls + n)).rowcount == 1)

    def _request_table(self) -> tuple[Any, Any, Any]:
        """The engine, the counts table and the requests table, created once."""
        engine, counts = self._budget_table()
        if self._requests is None:
            import sqlalchemy as sa

            table = sa.Table("autoprompt_requests", sa.MetaData(),
                             sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
                             sa.Column("run", sa.String(64), nullable=False, index=True),
                             sa.Column("at", sa.Float, nullable=False),
                             sa.Column("tokens", sa.BigInteger, nullable=False))
            create_table(engine, table)
            self._requests = table
        return engine, counts, self._requests

    def admit(self, tokens: int, wait: Callable[[list[tuple[float, int]], float], float], *, now: float) -> float:
        """Take a place for one request of ``tokens`` tokens in the run's one-minute windows (0.0),
        or the seconds until one frees up, as ``wait`` computes it (nothing taken)."""
        engine, counts, table = self._request_table()
        with engine.begin() as conn:  # the run's row, locked: one process at a time counts and takes a place
            conn.execute(counts.update().where(counts.c.run == self.name).values(calls=counts.c.calls))
            conn.execute(table.delete().where(table.c.run == self.name, table.c.at <= now - 60.0))
            events = [(float(r.at), int(r.tokens)) for r in conn.execute(
                table.select().where(table.c.run == self.name).order_by(table.c.at))]
            seconds = wait(events, now)
            if seconds <= 0:
                conn.execute(table.insert().values(run=self.name, at=now, tokens=tokens))
        return max(seconds, 0.0)

    def add_usage(self, tokens: int, usd: float) -> None:
        engine, table = self._budget_table()
        with engine.begin() as conn:
            conn.execute(table.update().where(table.c.run == self.name).values(
                tokens=table.c.tokens + tokens, usd=table.c.usd + usd))

    def totals(self) -> tuple[int, int, float]:
        """Calls, tokens and USD charged by every process of the run."""
        engine, table = self._budget_table()
        with engine.connect() as conn:
            found = conn.execute(table.select().where(table.c.run == self.name)).first()
        return (int(found.calls), int(found.tokens), float(found.usd)) if found else (0, 0, 0.0)

    @property
    def storage(self) -> Any:
        if self._storage is None:
            import optuna

            _reachable(self.url)  # a clear error for a bad URL, a missing driver or a database that is down
            retry = getattr(optuna.storages, "RetryHeartbeatStaleTrialCallback", None)
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
                callback = {"heartbeat_stale_trial_callback": retry(max_retry=1)} if retry else {
                    "failed_trial_callback": optuna.storages.RetryFailedTrialCallback(max_retry=1)}
                self._storage = optuna.storages.RDBStorage(
                    self.url, heartbeat_interval=max(1, int(self.heartbeat)), grace_period=max(1, int(self.grace)),
                    **callback)
        return self._storage

    def study(self, *, sampler: Any = None, pruner: Any = None) -> optuna.Study:
        import optuna

        return optuna.load_study(study_name=self.name, storage=self.storage, sampler=sampler, pruner=pruner)

    def create(self, arguments: dict[str, Any], *, sampler: Any, pruner: Any,
               start: dict[str, Any] | None, reopen: bool = False) -> optuna.Study:
        """The run's study, with its arguments and start time, its budget counts at zero, and ``start``
        (the component search's first trial) queued; a refinement run (``start`` None) queues none.
        With ``reopen`` (its first process restarted from its run folder), a run of the same arguments
        already there is taken up again as it is."""
        import optuna

        if self.name in self.runs():
            if reopen:
                study = self.study(sampler=sampler, pruner=pruner)
                if study.user_attrs.get("arguments") != arguments:
                    raise ConfigError(f"{shown(self.url)} holds a run named {self.name!r} with other settings than "
                                      "this run folder's; give this run another name with --run NAME")
                return study
            raise ConfigError(f"{shown(self.url)} already holds a run named {self.name!r}; join it with 'autoprompt "
                              f"worker --storage URL --run {self.name}', or give this run another name with --run NAME")
        study = optuna.create_study(study_name=self.name, storage=self.storage, direction="maximize", sampler=sampler,
                                    pruner=pruner)
        study.set_user_attr("arguments", arguments)
        study.set_user_attr("started", time.time())  # --max-seconds counts from here, for every process
        engine, table = self._budget_table()
        with engine.begin() as conn:  # counts a run left in this database before are not this run's
            conn.execute(table.update().where(table.c.run == self.name).values(calls=0, tokens=0, usd=0.0))
        if start is not None:
            study.enqueue_trial(start)
        return study

    def arguments(self) -> dict[str, Any]:
        """The run's settings as its first process saved them (``RunSpec.record()``), for ``spec_from``."""
        names = self.runs()
        if self.name not in names:
            held = f"holds only the runs {', '.join(map(repr, names))}" if names else "holds no run yet"
            raise ConfigError(f"{shown(self.url)} {held}, none named {self.name!r}; pass --run NAME, or start a run "
                              "with 'autoprompt optimize --storage URL ...'")
        saved = self.study().user_attrs.get("arguments")
        if not isinstance(saved, dict):
            raise ConfigError(f"the shared run at {shown(self.url)} is damaged (its arguments are not a mapping); "
                              "start a new run in another database")
        return saved

    def started(self) -> float | None:
        """When the run was created (seconds since the epoch, the creating machine's clock); None before it
        is created (its first process counts from its own start) or for a run an older version created."""
        if self.name not in self.runs():
            return None
        value = self.study().user_attrs.get("started")
        return float(value) if isinstance(value, int | float) and not isinstance(value, bool) else None

    def runs(self) -> list[str]:
        """The names of the runs the database holds."""
        import optuna

        return sorted(optuna.get_all_study_names(storage=self.storage))

    def spent(self) -> int:
        """The model calls every process of the run has charged."""
        return self.totals()[0]

    def settle(self, evaluate_one: Callable[[], object], poll: float = 0.5) -> None:
        """Once the budget is spent: wait for running trials, failing stale ones, and evaluate
        here the trials they left queued, until none is running or waiting."""
        import optuna

        study = self.study()
        states = optuna.trial.TrialState
        while True:
            optuna.storages.fail_stale_trials(study)
            if study.get_trials(deepcopy=False, states=(states.WAITING,)):
                evaluate_one()
            elif study.get_trials(deepcopy=False, states=(states.RUNNING,)):
                time.sleep(poll)
            else:
                return
