"""A private PostgreSQL 15 + PostGIS cluster under ``var/pg``, and its hot standby.

A fresh clone needs no database set-up: the cluster listens only on a unix socket inside its own
folder (no port to collide with), trusts local connections, and is started as the ``postgres``
user when we run as root (PostgreSQL refuses to run as root). With ``DATABASE_URL`` set, none of
this is used.

``EmbeddedReplica`` is a streaming hot standby of it under ``var/pg-replica`` (PostgreSQL's own
replication: ``pg_basebackup -R``, its own socket). While one exists the primary's URL names both
sockets with ``target_session_attrs=read-write`` (libpq's multi-host): after ``promote`` new
connections find the new primary without a restart. The reads' URL names the standby first with
``prefer-standby``, so reads fall back to the primary when the standby is down.
"""

from __future__ import annotations

import os
import pwd
import shutil
import subprocess
import time
from pathlib import Path

import psycopg

PG_BIN = Path(os.environ.get("GRIDWATCH_PG_BIN", "/usr/lib/postgresql/15/bin"))
DEFAULT_DB = "gridwatch"


def shared_buffers_mb() -> int:
    """PostgreSQL's own cache: a quarter of the machine's memory, as its documentation advises for
    a server of its own, within 128 MB-4 GB. With the former 256 MB, a city of 3,240,000 reports
    (its reports 740 MB, their indexes 1.4 GB) was read back from the system's cache on every
    year's indicators (bench/indicators.py). Given at each start, so a cluster made before follows."""
    memory = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    return max(128, min(4096, memory // 4 // 2**20))


class EmbeddedPostgresError(RuntimeError):
    """The private cluster could not be created or started; the message says what to do."""


def var_dir() -> Path:
    """Where GridWatch keeps its state (the cluster, uploads): ``$GRIDWATCH_VAR`` or ``./var``."""
    return Path(os.environ.get("GRIDWATCH_VAR") or Path.cwd() / "var").resolve()


def _with_driver(url: str) -> str:
    """A plain ``postgresql://`` URL with the driver GridWatch ships (psycopg 3), not SQLAlchemy's
    default (psycopg2)."""
    for plain in ("postgresql://", "postgres://"):
        if url.startswith(plain):
            return "postgresql+psycopg://" + url[len(plain) :]
    return url


def database_url(dbname: str = DEFAULT_DB) -> str:
    """``DATABASE_URL`` when set, else the embedded cluster's URL (both sockets while it has a
    standby: whichever accepts writes)."""
    url = os.environ.get("DATABASE_URL")
    if not url:
        replica = EmbeddedReplica()
        return replica.writes_url(dbname) if replica.exists() else EmbeddedPostgres().url(dbname)
    return _with_driver(url)


def replica_url(dbname: str = DEFAULT_DB) -> str | None:
    """Where reads a standby may serve go: ``DATABASE_REPLICA_URL`` when set, else the embedded
    standby's (with the primary behind it) when there is one, else None (everything on the primary)."""
    url = os.environ.get("DATABASE_REPLICA_URL")
    if url:
        return _with_driver(url)
    if os.environ.get("DATABASE_URL"):
        return None
    replica = EmbeddedReplica()
    return replica.reads_url(dbname) if replica.exists() else None


class EmbeddedPostgres:
    def __init__(self, root: Path | None = None):
        self.root = root or var_dir() / "pg"
        self.data = self.root / "data"
        self.socket_dir = self.root / "run"
        self.logfile = self.root / "postgres.log"

    def url(self, dbname: str = DEFAULT_DB) -> str:
        return f"postgresql+psycopg://postgres@/{dbname}?host={self.socket_dir}"

    def dsn(self, dbname: str = DEFAULT_DB) -> str:
        return f"dbname={dbname} user=postgres host={self.socket_dir}"

    # -- state ---------------------------------------------------------------------------------
    def status(self) -> str:
        """'absent' (no cluster yet), 'stopped' or 'running'."""
        if not (self.data / "PG_VERSION").exists():
            return "absent"
        result = self._run([PG_BIN / "pg_ctl", "status", "-D", self.data], check=False)
        return "running" if result.returncode == 0 else "stopped"

    def up(self) -> str:
        """Create the cluster if needed, start it if stopped, make sure the database has PostGIS.

        Idempotent: returns what it did, for the command's output.
        """
        done = []
        if not (PG_BIN / "initdb").exists():
            raise EmbeddedPostgresError(
                f"PostgreSQL 15 is not installed ({PG_BIN} is missing): run `make setup`, "
                "or set DATABASE_URL to use another server."
            )
        state = self.status()
        if state == "absent":
            self._init()
            done.append("created")
            state = "stopped"
        if state == "stopped":
            self._start()
            done.append("started")
        self.ensure_database(DEFAULT_DB)
        return ", ".join(done) or "already running"

    def down(self) -> str:
        if self.status() != "running":
            return "not running"
        self._run([PG_BIN / "pg_ctl", "stop", "-D", self.data, "-m", "fast", "-w"])
        return "stopped"

    def row(self, sql: str, params: tuple = ()) -> tuple:
        """The one row ``sql`` answers, on the ``postgres`` database."""
        with psycopg.connect(self.dsn("postgres")) as conn:
            found = conn.execute(sql, params).fetchone()
        assert found is not None, sql
        return found

    def set_synchronous(self, standby: str | None) -> None:
        """Make commits wait until ``standby`` has applied them (``remote_apply``: durable there,
        and visible to the reads it serves), or (None) wait for nobody."""
        if standby:
            statements = [
                f"ALTER SYSTEM SET synchronous_standby_names = '{standby}'",
                "ALTER SYSTEM SET synchronous_commit = 'remote_apply'",
            ]
        else:
            statements = [
                "ALTER SYSTEM RESET synchronous_standby_names",
                "ALTER SYSTEM RESET synchronous_commit",
            ]
        for sql in [*statements, "SELECT pg_reload_conf()"]:
            self.execute("postgres", sql)

    def ensure_database(self, dbname: str) -> None:
        """Create ``dbname`` with the PostGIS extension unless it exists."""
        self.execute(
            "postgres",
            f'CREATE DATABASE "{dbname}"',
            unless=("SELECT 1 FROM pg_database WHERE datname = %s", (dbname,)),
        )
        self.execute(dbname, "CREATE EXTENSION IF NOT EXISTS postgis")

    def execute(self, dbname: str, sql: str, unless: tuple | None = None) -> None:
        """Run one statement outside a transaction (CREATE DATABASE needs that)."""
        conn = psycopg.connect(self.dsn(dbname))
        try:
            conn.autocommit = True
            with conn.cursor() as cur:
                if unless:
                    cur.execute(*unless)
                    if cur.fetchone() is not None:
                        return
                cur.execute(sql)
        finally:
            conn.close()

    # -- internals -------------------------------------------------------------------------------
    def _owner(self) -> str | None:
        """The user the server runs as: ``postgres`` when we are root, else ourselves (None)."""
        if os.geteuid() != 0:
            return None
        try:
            pwd.getpwnam("postgres")
        except KeyError as exc:
            raise EmbeddedPostgresError("running as root but there is no `postgres` user") from exc
        return "postgres"

    def _run(self, argv, check=True) -> subprocess.CompletedProcess:
        argv = [str(a) for a in argv]
        owner = self._owner()
        if owner:
            argv = ["runuser", "-u", owner, "--", *argv]
        result = subprocess.run(argv, capture_output=True, text=True)
        if check and result.returncode != 0:
            raise EmbeddedPostgresError(
                f"{' '.join(argv)} failed:\n{result.stdout}{result.stderr}(server log: {self.logfile})"
            )
        return result

    def _init(self) -> None:
        self.root.mkdir(parents=True, exist_ok=True)
        self.socket_dir.mkdir(exist_ok=True)
        owner = self._owner()
        if owner:
            entry = pwd.getpwnam(owner)
            for path in (self.root, self.socket_dir):
                os.chown(path, entry.pw_uid, entry.pw_gid)
            self._check_reachable(owner)
        if self.data.exists():
            shutil.rmtree(self.data)  # a half-made cluster from an interrupted init
        self._run(
            [
                PG_BIN / "initdb",
                "-D",
                self.data,
                "-U",
                "postgres",
                "--auth=trust",
                "--encoding=UTF8",
                "--no-locale",
            ]
        )
        with open(self.data / "postgresql.conf", "a") as conf:
            conf.write(
                "\n# GridWatch embedded cluster: unix socket only, in its own folder\n"
                "listen_addresses = ''\n"
                f"unix_socket_directories = '{self.socket_dir}'\n"
                "max_connections = 100\n"
            )

    def _check_reachable(self, owner: str) -> None:
        result = self._run(["test", "-w", self.root], check=False)
        if result.returncode != 0:
            raise EmbeddedPostgresError(
                f"the `{owner}` user cannot reach {self.root}: a parent folder is closed to it. "
                "Set GRIDWATCH_VAR to a folder it can reach, or set DATABASE_URL."
            )

    def _start(self) -> None:
        self.socket_dir.mkdir(exist_ok=True)
        owner = self._owner()
        if owner:
            entry = pwd.getpwnam(owner)
            os.chown(self.socket_dir, entry.pw_uid, entry.pw_gid)
            if not self.logfile.exists():
                self.logfile.touch()
            os.chown(self.logfile, entry.pw_uid, entry.pw_gid)
        self._run(
            [
                *(PG_BIN / "pg_ctl", "start", "-D", self.data, "-l", self.logfile, "-w", "-t", "60"),
                *("-o", f"-c shared_buffers={shared_buffers_mb()}MB"),
            ]
        )
        for _ in range(50):  # pg_ctl -w returns when the server accepts connections; belt and braces
            try:
                psycopg.connect(self.dsn("postgres")).close()
                return
            except psycopg.OperationalError:
                time.sleep(0.1)
        raise EmbeddedPostgresError(f"the server started but accepts no connections (log: {self.logfile})")


REPLICA_NAME = "gridwatch_replica"  # the standby's application_name (synchronous_standby_names)


class EmbeddedReplica(EmbeddedPostgres):
    """A streaming hot standby of ``primary`` under ``var/pg-replica``, with its own socket."""

    def __init__(self, root: Path | None = None, primary: EmbeddedPostgres | None = None):
        super().__init__(root or var_dir() / "pg-replica")
        self.primary = primary or EmbeddedPostgres()

    def exists(self) -> bool:
        return (self.data / "PG_VERSION").exists()

    def _hosts(self, *clusters: EmbeddedPostgres) -> str:
        return ",".join(str(c.socket_dir) for c in clusters)

    def writes_url(self, dbname: str = DEFAULT_DB) -> str:
        """Both sockets, the one accepting writes taken: the primary, or the standby once promoted."""
        hosts = self._hosts(self.primary, self)
        return f"postgresql+psycopg://postgres@/{dbname}?host={hosts}&target_session_attrs=read-write"

    def reads_url(self, dbname: str = DEFAULT_DB) -> str:
        """The standby first, the primary when the standby is down."""
        hosts = self._hosts(self, self.primary)
        return f"postgresql+psycopg://postgres@/{dbname}?host={hosts}&target_session_attrs=prefer-standby"

    def up(self, synchronous: bool = False) -> str:
        """Copy the running primary (once), start the standby, and set whether the primary's
        commits wait for it (``synchronous``: applied there before acknowledged). Idempotent."""
        if self.primary.status() != "running":
            raise EmbeddedPostgresError("the primary is not running: `gridwatch db up` first")
        done = []
        state = self.status()
        if state == "absent":
            self._copy_primary()
            done.append("copied from the primary")
            state = "stopped"
        if state == "stopped":
            self._start()
            done.append("started")
        self.primary.set_synchronous(REPLICA_NAME if synchronous else None)
        done.append("synchronous" if synchronous else "asynchronous")
        return ", ".join(done)

    def down(self) -> str:
        """Stop the standby; the primary first stops waiting for it (or its commits would hang)."""
        if self.primary.status() == "running":
            self.primary.set_synchronous(None)
        return super().down()

    def promote(self) -> str:
        """Make the standby the primary (the old primary must not come back as one)."""
        if self.status() != "running":
            raise EmbeddedPostgresError("the standby is not running: nothing to promote")
        self._run([PG_BIN / "pg_ctl", "promote", "-D", self.data, "-w", "-t", "60"])
        return "promoted"

    def replay(self) -> dict:
        """The standby's state: in recovery or promoted, the WAL it has replayed, how far behind
        the primary's last write it is (bytes, and seconds since the last replayed commit)."""
        standby, replayed, seconds = self.row(
            "SELECT pg_is_in_recovery(), pg_last_wal_replay_lsn(),"
            " extract(epoch FROM now() - pg_last_xact_replay_timestamp())"
        )
        lag = None
        if standby and self.primary.status() == "running":
            (lag,) = self.primary.row(
                "SELECT pg_wal_lsn_diff(pg_current_wal_lsn(), %s::pg_lsn)", (str(replayed),)
            )
        return {
            "role": "standby" if standby else "primary",
            "replayed_lsn": str(replayed) if replayed else None,
            "lag_bytes": int(lag) if lag is not None else None,
            "since_last_commit_s": round(float(seconds), 3) if seconds is not None else None,
        }

    def _copy_primary(self) -> None:
        self.root.mkdir(parents=True, exist_ok=True)
        self.socket_dir.mkdir(exist_ok=True)
        owner = self._owner()
        if owner:
            entry = pwd.getpwnam(owner)
            for path in (self.root, self.socket_dir):
                os.chown(path, entry.pw_uid, entry.pw_gid)
        if self.data.exists():
            shutil.rmtree(self.data)  # a half-made copy from an interrupted one
        self._run(
            [
                PG_BIN / "pg_basebackup",
                "-D",
                self.data,
                "-d",
                f"host={self.primary.socket_dir} user=postgres application_name={REPLICA_NAME}",
                "-X",
                "stream",
                "-R",
                "-c",
                "fast",
            ]
        )
        with open(self.data / "postgresql.conf", "a") as conf:
            conf.write(
                "\n# GridWatch's hot standby: its own socket, read queries while it replays\n"
                f"unix_socket_directories = '{self.socket_dir}'\n"
                "hot_standby = on\n"
                "hot_standby_feedback = on\n"
                # a long map or export query on the standby is not cancelled by replay for 30 s
                "max_standby_streaming_delay = 30s\n"
            )
