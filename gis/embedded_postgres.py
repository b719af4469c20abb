"""A private PostgreSQL 15 + PostGIS cluster under ``var/pg``.

A fresh clone needs no database set-up: the cluster listens only on a unix socket inside its own
folder (no port to collide with), trusts local connections, and is started as the ``postgres``
user when we run as root (PostgreSQL refuses to run as root). With ``DATABASE_URL`` set, none of
this is used.
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


class EmbeddedPostgresError(RuntimeError):
    """The private cluster could not be created or started; the message says what to do."""


def var_dir() -> Path:
    """Where GridWatch keeps its state (the cluster, uploads): ``$GRIDWATCH_VAR`` or ``./var``."""
    return Path(os.environ.get("GRIDWATCH_VAR") or Path.cwd() / "var").resolve()


def database_url(dbname: str = DEFAULT_DB) -> str:
    """``DATABASE_URL`` when set, else the embedded cluster's URL. A plain ``postgresql://`` URL
    gets the driver GridWatch ships (psycopg 3), not SQLAlchemy's default (psycopg2)."""
    url = os.environ.get("DATABASE_URL")
    if not url:
        return EmbeddedPostgres().url(dbname)
    for plain in ("postgresql://", "postgres://"):
        if url.startswith(plain):
            return "postgresql+psycopg://" + url[len(plain) :]
    return url


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
                "shared_buffers = 256MB\n"
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
        self._run([PG_BIN / "pg_ctl", "start", "-D", self.data, "-l", self.logfile, "-w", "-t", "60"])
        for _ in range(50):  # pg_ctl -w returns when the server accepts connections; belt and braces
            try:
                psycopg.connect(self.dsn("postgres")).close()
                return
            except psycopg.OperationalError:
                time.sleep(0.1)
        raise EmbeddedPostgresError(f"the server started but accepts no connections (log: {self.logfile})")
