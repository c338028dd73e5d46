"""A throwaway PostgreSQL cluster for the tests: Debian's server binaries, a data folder
of its own, a free loopback port, started and stopped by the tests.

PostgreSQL refuses to run as root: as root the cluster belongs to the ``postgres`` user
(``runuser -u postgres --``); otherwise it runs as the current user. It listens on
127.0.0.1 only, its socket is in its own folder, and it trusts local connections: it is
for tests, with fsync off for speed."""
from __future__ import annotations

import glob
import os
import shutil
import socket
import subprocess
import time
from pathlib import Path

import psycopg
from psycopg import sql

#: Where Debian's packages put the server binaries (one folder per major version).
BIN_GLOB = "/usr/lib/postgresql/*/bin"
SETTINGS = {
    "listen_addresses": "'127.0.0.1'",
    "fsync": "off",
    "synchronous_commit": "off",
    "full_page_writes": "off",
    "max_connections": "300",
    "shared_buffers": "32MB",
    "log_min_messages": "warning",
    "log_min_error_statement": "panic",
}


def find_bin() -> Path | None:
    """The newest installed server's bin folder (with ``initdb`` and ``postgres``), or None."""
    found = [Path(p) for p in glob.glob(BIN_GLOB) if (Path(p) / "postgres").exists() and (Path(p) / "initdb").exists()]
    return max(found, key=lambda p: int(p.parent.name) if p.parent.name.isdigit() else 0) if found else None


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class PostgresCluster:
    """``root``: an empty (or absent) folder the cluster may own; as root, the
    ``postgres`` user must be able to reach it (a folder made by ``tempfile.mkdtemp``)."""

    user = "postgres"  # the superuser initdb makes, whoever runs the server

    def __init__(self, root: Path):
        self.root = Path(root)
        self.data = self.root / "data"
        self.sockets = self.root / "run"
        self.log = self.root / "postgres.log"
        self.port: int | None = None
        bin_dir = find_bin()
        if bin_dir is None:
            raise FileNotFoundError(f"no PostgreSQL server in {BIN_GLOB}: run `make test` "
                                    "(it installs Debian's postgresql package)")
        self.bin = bin_dir
        self.major = int(bin_dir.parent.name) if bin_dir.parent.name.isdigit() else 0
        self._as = ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []

    # -- running ----------------------------------------------------------------------
    def _run(self, *args: str) -> None:
        done = subprocess.run([*self._as, *args], capture_output=True, text=True)
        if done.returncode:
            tail = self.log.read_text()[-2000:] if self.log.exists() else ""
            raise RuntimeError(f"{' '.join(args[:2])} failed ({done.returncode}): {done.stdout}{done.stderr}{tail}")

    def _init(self) -> None:
        self.root.mkdir(parents=True, exist_ok=True)
        self.sockets.mkdir(exist_ok=True)
        if self._as:
            shutil.chown(self.root, "postgres", "postgres")
            shutil.chown(self.sockets, "postgres", "postgres")
            reach = subprocess.run([*self._as, "test", "-w", str(self.root)])
            if reach.returncode:
                raise PermissionError(f"the postgres user cannot write {self.root}: use a folder it can "
                                      "reach (e.g. tempfile.mkdtemp())")
        self._run(str(self.bin / "initdb"), "-D", str(self.data), "-U", self.user, "--auth=trust",
                  "--encoding=UTF8", "--locale=C", "--no-sync")
        settings = {**SETTINGS, "unix_socket_directories": f"'{self.sockets}'"}
        with open(self.data / "postgresql.conf", "a") as conf:
            conf.write("\n# tests/pg.py\n" + "".join(f"{k} = {v}\n" for k, v in settings.items()))

    def start(self) -> None:
        """Start the server (made on first start) and wait until it accepts connections.
        A restart keeps the port, so URLs handed out before stay valid."""
        if not (self.data / "PG_VERSION").exists():
            self._init()
        if self.port is None:
            self.port = free_port()
        self._run(str(self.bin / "pg_ctl"), "-D", str(self.data), "-l", str(self.log), "-w", "-t", "60",
                  "-o", f"-p {self.port}", "start")
        deadline = time.monotonic() + 30
        while True:
            try:
                with psycopg.connect(self._conninfo(), connect_timeout=2):
                    return
            except psycopg.OperationalError:
                if time.monotonic() > deadline:
                    raise

    def stop(self) -> None:
        """Stop the server (fast shutdown: open connections are cut); the data stays."""
        if (self.data / "postmaster.pid").exists():
            self._run(str(self.bin / "pg_ctl"), "-D", str(self.data), "-m", "fast", "-w", "stop")

    @property
    def running(self) -> bool:
        return (self.data / "postmaster.pid").exists()

    def remove(self) -> None:
        """Stop the server and delete its folder."""
        try:
            self.stop()
        finally:
            shutil.rmtree(self.root, ignore_errors=True)

    # -- databases --------------------------------------------------------------------
    def _conninfo(self, database: str = "postgres") -> str:
        return f"host=127.0.0.1 port={self.port} user={self.user} dbname={database}"

    def url(self, database: str = "postgres") -> str:
        """The SQLAlchemy URL of ``database`` (psycopg 3, over loopback TCP)."""
        return f"postgresql+psycopg://{self.user}@127.0.0.1:{self.port}/{database}"

    def execute(self, statement: str | sql.Composable, database: str = "postgres") -> list[tuple]:
        """Run one statement as the superuser, outside a transaction (CREATE DATABASE...)."""
        with psycopg.connect(self._conninfo(database), autocommit=True) as connection:
            cursor = connection.execute(statement)
            return cursor.fetchall() if cursor.description else []

    def create_database(self, name: str, template: str = "template0") -> str:
        """A new empty database; its URL."""
        # FILE_COPY (PostgreSQL 15's choice) copies the template's files instead of logging
        # each page: quicker for the small databases the tests make, with fsync off.
        strategy = " STRATEGY FILE_COPY" if self.major >= 15 else ""
        self.execute(sql.SQL("CREATE DATABASE {} TEMPLATE {}" + strategy)
                     .format(sql.Identifier(name), sql.Identifier(template)))
        return self.url(name)

    def drop_database(self, name: str) -> None:
        """Drop ``name``, cutting its connections (an app a test left open)."""
        self.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))

    def files(self, database: str) -> list[Path]:
        """The files that hold ``database``'s rows after a checkpoint: its own folder and the
        write-ahead log (which all databases of the cluster share)."""
        self.execute("CHECKPOINT")
        oid = self.execute(sql.SQL("SELECT oid FROM pg_database WHERE datname = {}").format(sql.Literal(database)))
        folder = self.data / "base" / str(oid[0][0])
        return [p for p in [*folder.iterdir(), *(self.data / "pg_wal").iterdir()] if p.is_file()]
