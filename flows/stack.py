"""`genforge stack up|status|down`: the team stack on this machine, on loopback only.

    CLI / worker ──► Prefect server (:4200, /api) ──────────────► PostgreSQL (:54329) db prefect
    CLI / worker ──► MLflow server (:5000, basic-auth) ─────────► PostgreSQL          dbs mlflow, mlflow_auth
                                  └─ proxied artifacts ──────────► <state>/artifacts (or s3://…)

PostgreSQL is either given (`--postgres-url`, never started or stopped here) or a cluster of our own under
`<root>/.genforge/stack/pg`, run by the `postgres` system user when we are root (initdb refuses root). Every process
we start is detached (its own session), logs to `<state>/logs/<service>.log`, and is recorded in `<state>/pids.json`
with its exact argv: `down` signals a pid only while its /proc cmdline still is that argv, so a recycled pid is never
hit. Secrets: the `genforge` role's password and the Flask secret live in `<state>/secrets.json` (0600); the MLflow
admin password comes from $GENFORGE_ADMIN_PASSWORD or `~/.config/genforge/admin-password` (0600, made once);
`<state>/stack.env` (0600) holds the variables to `source`. Nothing here imports prefect, mlflow or psycopg at
module level: `genforge --help` stays fast.
"""

from __future__ import annotations

import configparser
import contextlib
import datetime as dt
import glob
import json
import os
import re
import secrets
import shlex
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from base64 import b64encode
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import quote, unquote, urlsplit

import typer
from rich.console import Console

from components.errors import UserError
from components.workspace import QUIET_ENV, Workspace

SERVICES = ("postgres", "mlflow", "prefect")
DATABASES = ("mlflow", "mlflow_auth", "prefect")
ROLE = "genforge"
ADMIN = "admin"
DEFAULT_PG_PORT, DEFAULT_MLFLOW_PORT, DEFAULT_PREFECT_PORT = 54329, 5000, 4200
DEFAULT_TIMEOUT = 90.0
HOST = "127.0.0.1"
MIN_PASSWORD = 12  # MLflow's basic-auth refuses shorter passwords
SOCKET_PATH_MAX = 100  # sun_path holds 108 bytes; PostgreSQL appends "/.s.PGSQL.<port>"
# Variables of the caller that would reconfigure the servers we start (each server gets its own below).
SERVER_ENV_DROP = (
    "MLFLOW_TRACKING_URI",
    "MLFLOW_TRACKING_USERNAME",
    "MLFLOW_TRACKING_PASSWORD",
    "MLFLOW_AUTH_ADMIN_USERNAME",
    "MLFLOW_AUTH_ADMIN_PASSWORD",
    "MLFLOW_AUTH_CONFIG_PATH",
    "MLFLOW_BACKEND_STORE_URI",
    "MLFLOW_REGISTRY_STORE_URI",
    "MLFLOW_READ_REPLICA_BACKEND_STORE_URI",
    "MLFLOW_WORKSPACE_STORE_URI",
    "MLFLOW_DEFAULT_ARTIFACT_ROOT",
    "MLFLOW_ARTIFACTS_DESTINATION",
    "MLFLOW_ARTIFACTS_ONLY",
    "MLFLOW_STATIC_PREFIX",
    "MLFLOW_GUNICORN_OPTS",
    "MLFLOW_UVICORN_OPTS",
    "PREFECT_API_URL",
    "PREFECT_API_KEY",
    "PREFECT_HOME",
    "PREFECT_PROFILES_PATH",
    "PREFECT_API_DATABASE_CONNECTION_URL",
)

app = typer.Typer(
    help="The team stack on this machine (loopback only): PostgreSQL, the MLflow server with authentication and "
    "the Prefect server. `up` starts what is not running, `status` shows it, `down` stops what `up` started.",
    no_args_is_help=True,
)
out = Console(soft_wrap=True, highlight=False, width=None if sys.stdout.isatty() else 200)


class StackError(UserError):
    """The stack cannot start or stop as asked: the message says what to do (the CLI prints it, exit 2)."""


# ----------------------------------------------------------------------------------------------- paths & state


def state_dir(root: Path) -> Path:
    return Workspace.at(root).state_dir / "stack"


@dataclass
class Paths:
    state: Path

    @property
    def pg(self) -> Path:
        return self.state / "pg"

    @property
    def logs(self) -> Path:
        return self.state / "logs"

    @property
    def pids(self) -> Path:
        return self.state / "pids.json"

    @property
    def secrets(self) -> Path:
        return self.state / "secrets.json"

    @property
    def env_file(self) -> Path:
        return self.state / "stack.env"

    @property
    def auth_ini(self) -> Path:
        return self.state / "mlflow-auth.ini"

    @property
    def prefect_home(self) -> Path:
        return self.state / "prefect-home"

    def log(self, service: str) -> Path:
        return self.logs / f"{service}.log"


def _write_private(path: Path, text: str) -> None:
    """Write a file only its owner can read (0600 from its creation on: never briefly world-readable)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as handle:
        handle.write(text)
    os.chmod(tmp, 0o600)
    os.replace(tmp, path)


def _read_json(path: Path) -> dict:
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError):
        return {}


def _secrets(paths: Paths) -> dict:
    """The stack's own secrets, made once and kept: the `genforge` role's password and MLflow's Flask secret key."""
    values = _read_json(paths.secrets)
    changed = False
    for key in ("pg_password", "flask_secret_key"):
        if not values.get(key):
            values[key] = secrets.token_urlsafe(24)
            changed = True
    if changed:
        _write_private(paths.secrets, json.dumps(values, indent=1) + "\n")
    return values


def admin_password_file() -> Path:
    base = os.environ.get("XDG_CONFIG_HOME") or str(Path.home() / ".config")
    return Path(base) / "genforge" / "admin-password"


def admin_password() -> tuple[str, str]:
    """The MLflow admin's password and where it came from: $GENFORGE_ADMIN_PASSWORD, or a file outside git
    (`~/.config/genforge/admin-password`, created 0600 with a random password when missing)."""
    if "GENFORGE_ADMIN_PASSWORD" in os.environ:
        password, origin = os.environ["GENFORGE_ADMIN_PASSWORD"], "$GENFORGE_ADMIN_PASSWORD"
    else:
        path = admin_password_file()
        origin = str(path)
        if not path.exists():
            path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
            with contextlib.suppress(FileExistsError):
                fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
                with os.fdopen(fd, "w") as handle:
                    handle.write(secrets.token_urlsafe(18) + "\n")
        password = path.read_text().strip()
    if len(password) < MIN_PASSWORD or "\n" in password or password != password.strip():
        raise StackError(
            f"the MLflow admin password from {origin} must be at least {MIN_PASSWORD} characters on one line, "
            "without leading or trailing spaces (MLflow's basic-auth refuses shorter ones)"
        )
    return password, origin


# ----------------------------------------------------------------------------------------------- processes


def _cmdline(pid: int) -> list[str] | None:
    """The argv of a live process, or None when it is gone or a zombie."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
        if stat.rsplit(")", 1)[1].split()[0] in ("Z", "X"):
            with contextlib.suppress(ChildProcessError, OSError):
                os.waitpid(pid, os.WNOHANG)  # our own child (a test's process): reap it
            return None
        raw = Path(f"/proc/{pid}/cmdline").read_bytes()
    except (OSError, IndexError):
        return None
    return raw.decode(errors="replace").split("\0")[:-1] if raw else None


def _session_members(sid: int) -> list[int]:
    """Live processes of session `sid` (ours were started with start_new_session: session id = the leader's pid;
    the kernel never hands out a pid that is still some session's id, so these are ours)."""
    members = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
        except (OSError, IndexError):
            continue
        if int(fields[3]) == sid and fields[0] not in ("Z", "X"):
            members.append(int(entry.name))
    return members


def is_ours(record: dict | None) -> bool:
    """Whether the recorded process is alive and still runs the recorded argv (not a recycled pid)."""
    return bool(record and record.get("pid") and _cmdline(record["pid"]) == record.get("argv"))


def stop_process(record: dict, timeout: float = 15.0, second_term_after: float | None = None) -> str:
    """SIGTERM the recorded process's session (the server and its workers), a second SIGTERM after
    `second_term_after` s (Prefect's server may ignore the first), SIGKILL after `timeout`. Only while the leader's
    cmdline still matches; orphans left in its session are stopped too."""
    pid = record["pid"]
    leader = is_ours(record)
    if not leader and _cmdline(pid) is not None:
        return f"pid {pid} no longer runs what we started ({' '.join(_cmdline(pid) or [])[:80]}): left alone"
    if not leader and not _session_members(pid):
        return "not running"

    def signal_all(sig: int) -> None:
        if _cmdline(pid) is not None and not is_ours(record):
            return  # the leader's pid was handed to another program meanwhile: never signal it
        for member in _session_members(pid):
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.kill(member, sig)

    start = time.monotonic()
    signal_all(signal.SIGTERM)
    resent = second_term_after is None
    while _session_members(pid) or is_ours(record):
        elapsed = time.monotonic() - start
        if elapsed > timeout:
            signal_all(signal.SIGKILL)
            time.sleep(0.2)
            return "killed (did not stop on SIGTERM)"
        if not resent and elapsed > second_term_after:
            signal_all(signal.SIGTERM)
            resent = True
        time.sleep(0.1)
    return "stopped"


def _spawn(argv: list[str], env: dict, log: Path, cwd: Path) -> subprocess.Popen:
    log.parent.mkdir(parents=True, exist_ok=True)
    with open(log, "ab") as handle:
        handle.write(f"\n=== {dt.datetime.now().isoformat(timespec='seconds')} {shlex.join(argv)}\n".encode())
        handle.flush()
        return subprocess.Popen(
            argv,
            env=env,
            cwd=cwd,
            stdin=subprocess.DEVNULL,
            stdout=handle,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # detached: outlives this command, gets no Ctrl-C of the terminal
        )


def port_free(port: int) -> bool:
    with contextlib.closing(socket.socket()) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # a TIME_WAIT of our last run is no conflict
        try:
            sock.bind((HOST, port))
        except OSError:
            return False
    return True


def _check_port(port: int, service: str, option: str) -> None:
    if not 1 <= port <= 65535:
        raise StackError(f"{option} {port}: a port is a number from 1 to 65535")
    if not port_free(port):
        raise StackError(
            f"port {port} on {HOST} is in use by another process, so the {service} server cannot start there: "
            f"stop that process or choose another port with {option}"
        )


def _last_line(log: Path) -> str:
    try:
        lines = [line.strip() for line in log.read_text(errors="replace").splitlines() if line.strip()]
    except OSError:
        return ""
    return lines[-1][:200] if lines else ""


# ----------------------------------------------------------------------------------------------- PostgreSQL


def pg_bin() -> Path | None:
    """The bin folder of the newest installed PostgreSQL (/usr/lib/postgresql/<version>/bin), else initdb's folder
    on the PATH, else None."""

    def version(path: str) -> tuple[int, ...]:
        return tuple(int(p) for p in re.findall(r"\d+", Path(path).parent.parent.name))

    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"), key=version)
    if found:
        return Path(found[-1]).parent
    on_path = shutil.which("initdb")
    return Path(on_path).parent if on_path else None


def ensure_postgres_installed() -> Path:
    """PostgreSQL's bin folder; installed with apt-get when we are root, else the exact command in the error."""
    found = pg_bin()
    if found:
        return found
    if os.geteuid() != 0:
        raise StackError(
            "PostgreSQL is not installed: run `sudo apt-get install -y postgresql` and again `genforge stack up`, "
            "or give a server with --postgres-url postgresql://USER:PASSWORD@HOST:PORT/"
        )
    out.print("PostgreSQL is not installed: apt-get install -y postgresql …")
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    install = ["apt-get", "install", "-y", "-qq", "postgresql"]
    if subprocess.run(install, env=env, capture_output=True).returncode != 0:
        subprocess.run(["apt-get", "update", "-qq"], env=env, capture_output=True)
        done = subprocess.run(install, env=env, capture_output=True, text=True)
        if done.returncode != 0:
            raise StackError(f"apt-get install -y postgresql failed: {_one(done.stderr)}")
    found = pg_bin()
    if not found:
        raise StackError("apt-get installed postgresql, but no initdb is found under /usr/lib/postgresql/*/bin")
    return found


def _one(text: str) -> str:
    lines = [line.strip() for line in (text or "").splitlines() if line.strip()]
    return lines[-1][:200] if lines else "(no output)"


def _as_pg(argv: list[str]) -> list[str]:
    """Run as the `postgres` system user when we are root (initdb and postgres refuse root), else as ourselves."""
    return ["runuser", "-u", "postgres", "--", *argv] if os.geteuid() == 0 else argv


def _chown_pg(path: Path) -> None:
    if os.geteuid() == 0:
        import pwd

        try:
            user = pwd.getpwnam("postgres")
        except KeyError:
            raise StackError(
                "running as root, the cluster must belong to the `postgres` system user, and there is none: "
                "install Debian's postgresql package (apt-get install -y postgresql) or give --postgres-url"
            ) from None
        os.chown(path, user.pw_uid, user.pw_gid)


def _reachable_by_pg(path: Path) -> None:
    """As root, the `postgres` user must be able to reach the data folder; a private parent (say /root, 0700)
    stops it. Name that parent."""
    if os.geteuid() != 0:
        return
    if subprocess.run(_as_pg(["test", "-x", str(path)]), capture_output=True).returncode == 0:
        return
    blocked = next((p for p in reversed(path.parents) if p.exists() and not os.stat(p).st_mode & 0o001), path.parent)
    raise StackError(
        f"the postgres system user cannot reach {path}: {blocked} is not searchable by other users. Allow it "
        f"(chmod o+x {blocked}), keep the workspace elsewhere, or give a server with --postgres-url"
    )


def _socket_dir(paths: Paths, port: int) -> Path:
    """PostgreSQL's unix socket lives in the (0700) data folder, reachable only by its owner and root, which makes
    `local all all trust` safe; a path too long for a socket moves it to a private folder in /tmp."""
    if len(f"{paths.pg}/.s.PGSQL.{port}") <= SOCKET_PATH_MAX:
        return paths.pg
    import hashlib

    short = Path("/tmp") / f"genforge-pg-{hashlib.sha256(str(paths.pg).encode()).hexdigest()[:10]}"
    short.mkdir(mode=0o700, exist_ok=True)
    _chown_pg(short)
    os.chmod(short, 0o700)
    return short


PG_HBA = """\
# Written by `genforge stack up`. The unix socket lies in the data folder (0700): only this cluster's owner and
# root reach it. Over TCP (loopback only), passwords (scram-sha-256).
local   all   all                  trust
host    all   all   127.0.0.1/32   scram-sha-256
"""


def _postmaster(paths: Paths) -> tuple[int, int] | None:
    """(pid, port) of our cluster's postmaster when it is running, from postmaster.pid."""
    try:
        lines = (paths.pg / "postmaster.pid").read_text().splitlines()
        pid, port = int(lines[0]), int(lines[3])
    except (OSError, ValueError, IndexError):
        return None
    argv = _cmdline(pid)
    return (pid, port) if argv and "postgres" in Path(argv[0]).name else None


def _pg_ready(bindir: Path, host: str, port: int) -> bool:
    ready = bindir / "pg_isready"
    done = subprocess.run([str(ready), "-q", "-h", host, "-p", str(port), "-U", "postgres", "-d", "postgres"])
    return done.returncode == 0


def start_own_postgres(paths: Paths, port: int, timeout: float) -> dict:
    """Start (initialising once) our cluster under <state>/pg; return its record for pids.json."""
    bindir = ensure_postgres_installed()
    running = _postmaster(paths)
    if running:
        pid, port = running
        sock = _socket_dir(paths, port)
        return {"pid": pid, "port": port, "own": True, "bindir": str(bindir), "socket": str(sock), "already": True}
    _check_port(port, "PostgreSQL", "--pg-port")
    paths.state.mkdir(parents=True, exist_ok=True)
    log = paths.log("postgres")
    log.parent.mkdir(parents=True, exist_ok=True)
    log.touch()
    _chown_pg(log)
    if not (paths.pg / "PG_VERSION").exists():
        if paths.pg.exists():
            shutil.rmtree(paths.pg)  # a half-made cluster of an interrupted first start
        paths.pg.mkdir(mode=0o700)
        _chown_pg(paths.pg)
        _reachable_by_pg(paths.pg)
        init = subprocess.run(
            _as_pg([str(bindir / "initdb"), "-D", str(paths.pg), "-U", "postgres", "-A", "trust", "-E", "UTF8"])
            + ["--locale=C"],
            capture_output=True,
            text=True,
        )
        if init.returncode != 0:
            raise StackError(f"initdb failed for {paths.pg}: {_one(init.stderr or init.stdout)}")
    _reachable_by_pg(paths.pg)
    hba = paths.pg / "pg_hba.conf"
    hba.write_text(PG_HBA)
    _chown_pg(hba)
    sock = _socket_dir(paths, port)
    options = f"-c listen_addresses={HOST} -p {port} -k {shlex.quote(str(sock))}"  # pg_ctl runs it through sh
    argv = [str(bindir / "pg_ctl"), "-D", str(paths.pg), "-l", str(log), "-o", options, "-w", "-t", str(int(timeout))]
    start = subprocess.run(_as_pg([*argv, "start"]), capture_output=True, text=True, start_new_session=True)
    running = _postmaster(paths)
    if start.returncode != 0 or not running:
        raise StackError(f"PostgreSQL did not start on {HOST}:{port}: {_last_line(log)}; see {log}")
    return {"pid": running[0], "port": port, "own": True, "bindir": str(bindir), "socket": str(sock)}


def _connect(**kwargs):
    try:
        import psycopg
    except ImportError:
        raise StackError(
            "the team stack needs the `team` extra (psycopg, Flask-WTF): .venv/bin/pip install -e '.[team]' "
            "(make install does it)"
        ) from None
    return psycopg.connect(autocommit=True, connect_timeout=10, **kwargs)


def prepare_own_databases(record: dict, password: str) -> None:
    """Role `genforge` (its password set on every start: the secrets file is the truth) and the databases, over the
    unix socket as the superuser (trust)."""
    from psycopg import sql

    try:
        conn = _connect(host=record["socket"], port=record["port"], user="postgres", dbname="postgres")
    except StackError:
        raise
    except Exception as exc:  # psycopg.OperationalError
        raise StackError(f"cannot reach our PostgreSQL over {record['socket']}: {_one(str(exc))}") from None
    with conn:
        exists = conn.execute("SELECT 1 FROM pg_roles WHERE rolname = %s", (ROLE,)).fetchone()
        verb = "ALTER" if exists else "CREATE"
        conn.execute(sql.SQL(verb + " ROLE {} LOGIN PASSWORD {}").format(sql.Identifier(ROLE), sql.Literal(password)))
        have = {row[0] for row in conn.execute("SELECT datname FROM pg_database")}
        for name in DATABASES:
            if name not in have:
                conn.execute(sql.SQL("CREATE DATABASE {} OWNER {}").format(sql.Identifier(name), sql.Identifier(ROLE)))


@dataclass
class PgTarget:
    """Where the servers find PostgreSQL: user, password, host, port (and query options of a given URL)."""

    user: str
    password: str
    host: str
    port: int
    query: str = ""
    given: bool = False

    def url(self, driver: str, database: str) -> str:
        auth = quote(self.user, safe="") + (":" + quote(self.password, safe="") if self.password else "")
        return f"postgresql+{driver}://{auth}@{self.host}:{self.port}/{database}" + (
            f"?{self.query}" if self.query else ""
        )

    def public(self) -> str:
        return f"postgresql://{self.user}@{self.host}:{self.port}/"


def parse_postgres_url(url: str) -> PgTarget:
    parts = urlsplit(url)
    if parts.scheme.split("+")[0] not in ("postgresql", "postgres") or not parts.hostname:
        raise StackError(f"--postgres-url {url!r}: expected postgresql://USER:PASSWORD@HOST:PORT/")
    try:
        port = parts.port or 5432
    except ValueError:
        raise StackError(f"--postgres-url: bad port in {parts.netloc.rsplit('@', 1)[-1]!r}") from None
    return PgTarget(
        user=unquote(parts.username or "postgres"),
        password=unquote(parts.password or ""),
        host=parts.hostname,
        port=port,
        query=parts.query,
        given=True,
    )


def prepare_given_databases(target: PgTarget, maintenance_db: str) -> None:
    """Create the missing databases on a server given by URL (the user needs CREATEDB for that)."""
    from psycopg import sql

    try:
        conn = _connect(
            host=target.host,
            port=target.port,
            user=target.user,
            password=target.password or None,
            dbname=maintenance_db or "postgres",
        )
    except StackError:
        raise
    except Exception as exc:  # psycopg.OperationalError: refused, bad password, unknown host
        raise StackError(f"cannot connect to PostgreSQL at {target.public()}: {_one(str(exc))}") from None
    with conn:
        have = {row[0] for row in conn.execute("SELECT datname FROM pg_database")}
        for name in DATABASES:
            if name in have:
                continue
            try:
                conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
            except Exception as exc:
                raise StackError(
                    f"database {name} is missing on {target.public()} and {target.user} may not create it "
                    f"({_one(str(exc))}): create {', '.join(DATABASES)} there, or grant CREATEDB"
                ) from None


def pg_up(record: dict | None) -> bool:
    if not record:
        return False
    if record.get("own"):
        running = _postmaster(Paths(Path(record["state"])))
        return bool(running) and _pg_ready(Path(record["bindir"]), record["socket"], running[1])
    try:
        with socket.create_connection((record["host"], record["port"]), timeout=3):
            return True
    except OSError:
        return False


# ----------------------------------------------------------------------------------------------- HTTP servers


def http_status(url: str, auth: tuple[str, str] | None = None, timeout: float = 3.0) -> int | None:
    """The HTTP status of a GET, or None when nothing answers."""
    request = urllib.request.Request(url)
    if auth:
        request.add_header("Authorization", "Basic " + b64encode(f"{auth[0]}:{auth[1]}".encode()).decode())
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            return response.status
    except urllib.error.HTTPError as exc:
        return exc.code
    except (OSError, ValueError):
        return None


def mlflow_url(port: int) -> str:
    return f"http://{HOST}:{port}"


def prefect_url(port: int) -> str:
    return f"http://{HOST}:{port}/api"


HEALTH = {
    "mlflow": lambda port: mlflow_url(port) + "/health",
    "prefect": lambda port: prefect_url(port) + "/health",
}


def _server_env(extra: dict) -> dict:
    env = {k: v for k, v in os.environ.items() if k not in SERVER_ENV_DROP}
    env.update(QUIET_ENV)
    env.update(extra)
    return env


def write_auth_ini(paths: Paths, database_uri: str, password: str) -> None:
    """MLflow's basic-auth config (keys as in mlflow/server/auth/basic_auth.ini); `%` doubled: configparser
    interpolates. The admin password is only used when the admin user is created (the first start)."""
    config = configparser.ConfigParser(interpolation=None)
    config["mlflow"] = {
        "default_permission": "READ",
        "database_uri": database_uri.replace("%", "%%"),
        "admin_username": ADMIN,
        "admin_password": password.replace("%", "%%"),
        "authorization_function": "mlflow.server.auth:authenticate_request_basic_auth",
    }
    from io import StringIO

    text = StringIO()
    config.write(text)
    _write_private(paths.auth_ini, "# Written by `genforge stack up`; holds secrets (0600).\n" + text.getvalue())


def mlflow_argv(port: int, artifacts: str) -> list[str]:
    # The backend store URI (it holds the role's password) goes in MLFLOW_BACKEND_STORE_URI, not argv: argv is
    # world-readable (ps); the environment of a process is not.
    return [
        sys.executable,
        "-m",
        "mlflow",
        "server",
        "--artifacts-destination",
        artifacts,
        "--app-name",
        "basic-auth",
        "--host",
        HOST,
        "--port",
        str(port),
        "--workers",
        "1",
    ]


def prefect_argv(port: int) -> list[str]:
    return [sys.executable, "-m", "prefect", "server", "start", "--host", HOST, "--port", str(port)]


def _artifacts_destination(value: str | None, paths: Paths) -> str:
    if not value:
        dest = paths.state / "artifacts"
    elif "://" in value:
        if not value.startswith("s3://"):
            raise StackError(f"--artifacts-destination {value}: give a folder or s3://bucket/prefix")
        return value.rstrip("/")
    else:
        dest = Path(value).expanduser().resolve()
    dest.mkdir(parents=True, exist_ok=True)
    return str(dest)


# ----------------------------------------------------------------------------------------------- up / status / down


@dataclass
class StackOptions:
    root: Path | None = None
    postgres_url: str | None = None
    pg_port: int = DEFAULT_PG_PORT
    mlflow_port: int = DEFAULT_MLFLOW_PORT
    prefect_port: int = DEFAULT_PREFECT_PORT
    artifacts_destination: str | None = None
    timeout: float = DEFAULT_TIMEOUT


@dataclass
class UpResult:
    env: dict[str, str]
    env_file: Path
    started: list[str] = field(default_factory=list)
    already: list[str] = field(default_factory=list)
    seconds: float = 0.0
    password_origin: str = ""


def _save(paths: Paths, record: dict) -> None:
    _write_private(paths.pids, json.dumps(record, indent=1) + "\n")


def env_vars(record: dict, password: str) -> dict[str, str]:
    return {
        "MLFLOW_TRACKING_URI": mlflow_url(record["mlflow"]["port"]),
        "MLFLOW_TRACKING_USERNAME": ADMIN,
        "MLFLOW_TRACKING_PASSWORD": password,
        "PREFECT_API_URL": prefect_url(record["prefect"]["port"]),
        "PREFECT_API_AUTH_STRING": f"{ADMIN}:{password}",
    }


@contextlib.contextmanager
def _locked(state: Path):
    """One `stack up`/`down` at a time per workspace: a second one waits, then finds the first one's result."""
    import fcntl

    state.mkdir(parents=True, exist_ok=True)
    with open(state / ".lock", "w") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)  # released when the file closes, or when this process dies in any way
        yield


def up(options: StackOptions, say=None) -> UpResult:
    """Bring the stack up: start what is not running (idempotent), wait until each service answers, write
    <state>/stack.env. Raises StackError (one line) when something cannot start."""
    with _locked(state_dir(options.root)):
        return _up(options, say or (lambda _line: None))


def _up(options: StackOptions, say) -> UpResult:
    t0 = time.monotonic()
    paths = Paths(state_dir(options.root))
    record = _read_json(paths.pids)
    _require_team_extra()
    password, origin = admin_password()
    keys = _secrets(paths)
    # Which HTTP servers run already (argv unchanged); check the ports of the others before starting anything.
    running = {name: is_ours(record.get(name)) for name in ("mlflow", "prefect")}
    for name, port, option in (
        ("mlflow", options.mlflow_port, "--mlflow-port"),
        ("prefect", options.prefect_port, "--prefect-port"),
    ):
        if not running[name]:
            _check_port(port, name.capitalize() if name == "prefect" else "MLflow", option)
    if options.mlflow_port == options.prefect_port and not any(running.values()):
        raise StackError(f"--mlflow-port and --prefect-port are both {options.mlflow_port}: give two ports")
    result = UpResult(env={}, env_file=paths.env_file, password_origin=origin)

    # 1. PostgreSQL
    if options.postgres_url:
        if record.get("postgres", {}).get("own") and _postmaster(paths):
            raise StackError(
                "this workspace's own PostgreSQL is running: `genforge stack down` first to use --postgres-url"
            )
        target = parse_postgres_url(options.postgres_url)
        prepare_given_databases(target, urlsplit(options.postgres_url).path.lstrip("/"))
        pg = {"own": False, "host": target.host, "port": target.port, "url": target.public()}
    else:
        if record.get("postgres") and not record["postgres"].get("own") and (running["mlflow"] or running["prefect"]):
            raise StackError("the running stack uses a PostgreSQL given by URL: add the same --postgres-url")
        pg = start_own_postgres(paths, options.pg_port, options.timeout)
        (result.already if pg.pop("already", False) else result.started).append("postgres")
        pg["state"] = str(paths.state)
        target = PgTarget(ROLE, keys["pg_password"], HOST, pg["port"])
        prepare_own_databases(pg, keys["pg_password"])
    record["postgres"] = pg
    _save(paths, record)
    say(f"postgres ready on {target.host}:{target.port} ({time.monotonic() - t0:.1f} s)")

    # 2. + 3. the HTTP servers, started together (each runs its migrations on a fresh database: seconds)
    spawned: dict[str, subprocess.Popen] = {}
    if running["mlflow"]:
        result.already.append("mlflow")
    else:
        artifacts = _artifacts_destination(options.artifacts_destination, paths)
        write_auth_ini(paths, target.url("psycopg", "mlflow_auth"), password)
        argv = mlflow_argv(options.mlflow_port, artifacts)
        env = _server_env(
            {
                "MLFLOW_BACKEND_STORE_URI": target.url("psycopg", "mlflow"),
                "MLFLOW_AUTH_CONFIG_PATH": str(paths.auth_ini),
                "MLFLOW_FLASK_SERVER_SECRET_KEY": keys["flask_secret_key"],
                # MLflow's job runner (GenAI scorer jobs; GenForge has none) is 8 more Python processes importing
                # mlflow: seconds of start-up and ~1 GB of memory for nothing.
                "MLFLOW_SERVER_ENABLE_JOB_EXECUTION": "false",
            }
        )
        spawned["mlflow"] = _spawn(argv, env, paths.log("mlflow"), paths.state)
        record["mlflow"] = {"pid": spawned["mlflow"].pid, "argv": argv, "port": options.mlflow_port}
        record["mlflow"]["artifacts"] = artifacts
        _save(paths, record)
    if running["prefect"]:
        result.already.append("prefect")
    else:
        paths.prefect_home.mkdir(parents=True, exist_ok=True)
        argv = prefect_argv(options.prefect_port)
        env = _server_env(
            {
                "PREFECT_HOME": str(paths.prefect_home),
                "PREFECT_API_DATABASE_CONNECTION_URL": target.url("asyncpg", "prefect"),
                "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
                "PREFECT_SERVER_API_AUTH_STRING": f"{ADMIN}:{password}",  # basic auth; /health stays open
            }
        )
        spawned["prefect"] = _spawn(argv, env, paths.log("prefect"), paths.state)
        record["prefect"] = {"pid": spawned["prefect"].pid, "argv": argv, "port": options.prefect_port}
        _save(paths, record)

    # 4. wait until each answers
    deadline = time.monotonic() + options.timeout
    waiting = dict(spawned)
    while waiting:
        for name, proc in list(waiting.items()):
            if http_status(HEALTH[name](record[name]["port"]), timeout=2) == 200:
                del waiting[name]
                result.started.append(name)
                say(f"{name} answers on {HEALTH[name](record[name]['port'])} ({time.monotonic() - t0:.1f} s)")
                continue
            code = proc.poll()
            if code is not None or time.monotonic() > deadline:
                log = paths.log(name)
                if code is None:
                    stop_process(record[name], timeout=5)
                why = f"exited with code {code}" if code is not None else f"no answer within {options.timeout:.0f} s"
                last = _last_line(log)
                raise StackError(
                    f"the {name} server did not come up on {HEALTH[name](record[name]['port'])} ({why})"
                    + (f": {last}" if last else "")
                    + f"; see {log}"
                )
        if waiting:
            time.sleep(0.25)
    # The admin password works (the auth database keeps the one of its first start; a changed one would not).
    search = mlflow_url(record["mlflow"]["port"]) + "/api/2.0/mlflow/experiments/search?max_results=1"
    status = http_status(search, auth=(ADMIN, password), timeout=10)
    if status != 200:
        raise StackError(
            f"the MLflow server refuses the admin password from {origin} (HTTP {status}): its auth database "
            "keeps the password of its first start; use that one, or change it with MLflow's update-password API"
        )
    result.env = env_vars(record, password)
    write_env_file(paths, result.env)
    result.seconds = time.monotonic() - t0
    return result


def _require_team_extra() -> None:
    import importlib.util

    missing = [name for name in ("flask_wtf", "psycopg") if importlib.util.find_spec(name) is None]
    if missing:
        raise StackError(
            f"the MLflow server with authentication needs {', '.join(missing)}: install the team extra "
            "(.venv/bin/pip install -e '.[team]'; make install does it)"
        )


def write_env_file(paths: Paths, env: dict[str, str]) -> None:
    lines = [f"# The GenForge team stack (genforge stack up): source {paths.env_file}"]
    lines += [f"export {key}={shlex.quote(value)}" for key, value in env.items()]
    _write_private(paths.env_file, "\n".join(lines) + "\n")


def status(root: Path | None = None) -> list[dict]:
    """One row per service: name, up (bool), url, pid, note."""
    paths = Paths(state_dir(root))
    record = _read_json(paths.pids)
    rows = []
    pg = record.get("postgres")
    if pg and pg.get("own"):
        running = _postmaster(paths)
        port = running[1] if running else pg.get("port", DEFAULT_PG_PORT)
        rows.append(
            {
                "service": "postgres",
                "up": pg_up(pg),
                "url": f"postgresql://{HOST}:{port}/",
                "pid": running[0] if running else None,
                "note": f"own cluster {paths.pg}",
            }
        )
    elif pg:
        rows.append(
            {"service": "postgres", "up": pg_up(pg), "url": pg["url"], "pid": None, "note": "given by URL, not ours"}
        )
    else:
        rows.append({"service": "postgres", "up": False, "url": "", "pid": None, "note": "not running"})
    for name, url in (("mlflow", mlflow_url), ("prefect", prefect_url)):
        rec = record.get(name)
        if not rec:
            rows.append({"service": name, "up": False, "url": "", "pid": None, "note": "not running"})
            continue
        alive = is_ours(rec)
        answers = alive and http_status(HEALTH[name](rec["port"])) == 200
        note = "" if answers else ("running but not answering" if alive else "")
        pid = rec["pid"] if alive else None
        rows.append({"service": name, "up": answers, "url": url(rec["port"]), "pid": pid, "note": note})
    return rows


def down(root: Path | None = None, timeout: float = 15.0) -> list[tuple[str, str]]:
    """Stop what `up` started: the HTTP servers (recorded pids whose cmdline still matches), then our own cluster
    (pg_ctl stop). A PostgreSQL given by URL is never touched."""
    paths = Paths(state_dir(root))
    if not paths.state.is_dir():
        return [(name, "not started here") for name in ("prefect", "mlflow", "postgres")]
    with _locked(paths.state):
        return _down(paths, timeout)


def stop_own_postgres(paths: Paths, record: dict, timeout: float = 15.0) -> str:
    """Stop the stack's own cluster the way PostgreSQL wants it (`pg_ctl stop -m fast`: open sessions are ended,
    the data is flushed); "stopped" or "not running"."""
    if not _postmaster(paths):
        return "not running"
    pg_ctl = [str(Path(record["bindir"]) / "pg_ctl"), "-D", str(paths.pg), "-m", "fast", "-w"]
    stop = subprocess.run(_as_pg([*pg_ctl, "-t", str(int(timeout)), "stop"]), capture_output=True, text=True)
    if stop.returncode != 0 and _postmaster(paths):
        raise StackError(f"pg_ctl stop failed for {paths.pg}: {_one(stop.stderr)}; see {paths.log('postgres')}")
    return "stopped"


def _down(paths: Paths, timeout: float) -> list[tuple[str, str]]:
    record = _read_json(paths.pids)
    done = []
    for name, second in (("prefect", 3.0), ("mlflow", None)):
        rec = record.get(name)
        if not rec:
            done.append((name, "not started here"))
            continue
        done.append((name, stop_process(rec, timeout=timeout, second_term_after=second)))
        if not is_ours(rec):
            record.pop(name)
            _save(paths, record)
    pg = record.get("postgres")
    if not pg:
        done.append(("postgres", "not started here"))
    elif not pg.get("own"):
        done.append(("postgres", f"given by URL ({pg['url']}): left running"))
    else:
        done.append(("postgres", stop_own_postgres(paths, pg, timeout)))
    if not record.get("postgres", {}).get("own") or not _postmaster(paths):
        record.pop("postgres", None)
    if record:
        _save(paths, record)
    else:
        with contextlib.suppress(FileNotFoundError):
            paths.pids.unlink()
    return done


# ----------------------------------------------------------------------------------------------- the CLI

ROOT = typer.Option(None, "--root", help="Project folder; the stack's state is <root>/.genforge/stack.")


@app.command("up")
def up_command(
    postgres_url: str | None = typer.Option(
        None,
        "--postgres-url",
        help="Use this PostgreSQL (postgresql://USER:PASSWORD@HOST:PORT/; databases mlflow, mlflow_auth, prefect are "
        "created if missing) instead of a cluster of our own. `down` never stops it.",
    ),
    pg_port: int = typer.Option(DEFAULT_PG_PORT, "--pg-port", help="Port of our own cluster on 127.0.0.1."),
    mlflow_port: int = typer.Option(DEFAULT_MLFLOW_PORT, "--mlflow-port", help="MLflow server port on 127.0.0.1."),
    prefect_port: int = typer.Option(DEFAULT_PREFECT_PORT, "--prefect-port", help="Prefect server port on 127.0.0.1."),
    artifacts_destination: str | None = typer.Option(
        None,
        "--artifacts-destination",
        help="Where the MLflow server keeps artifacts (proxied): a folder or s3://bucket/prefix; "
        "default <root>/.genforge/stack/artifacts.",
    ),
    timeout: float = typer.Option(DEFAULT_TIMEOUT, "--timeout", help="Seconds to wait for each service."),
    root: Path | None = ROOT,
) -> None:
    """Start PostgreSQL, the MLflow server (basic-auth) and the Prefect server on loopback; print the variables to
    export (also written to <root>/.genforge/stack/stack.env). Running services are left as they are."""
    options = StackOptions(root, postgres_url, pg_port, mlflow_port, prefect_port, artifacts_destination, timeout)
    result = up(options, say=lambda line: out.print(f"  {line}"))
    for name in SERVICES:
        state = "already running" if name in result.already else "started"
        if name == "postgres" and postgres_url:
            state = "given by --postgres-url (not managed)"
        out.print(f"{name:9s} {state}")
    # The password is never printed: the variables that hold it read it where it comes from.
    if result.password_origin == "$GENFORGE_ADMIN_PASSWORD":
        password = "$GENFORGE_ADMIN_PASSWORD"
    else:
        password = f"$(cat {shlex.quote(result.password_origin)})"
    shown = {key: shlex.quote(value) for key, value in result.env.items()}
    shown["MLFLOW_TRACKING_PASSWORD"] = f'"{password}"'
    shown["PREFECT_API_AUTH_STRING"] = f'"{ADMIN}:{password}"'
    out.print(f"stack up in {result.seconds:.1f} s. Point GenForge at it (or: source {_rel(result.env_file)}):")
    for key, value in shown.items():
        out.print(f"export {key}={value}")
    out.print("stop it with: genforge stack down" + (f" --root {shlex.quote(str(root))}" if root else ""))


def _rel(path: Path) -> str:
    with contextlib.suppress(ValueError):
        return str(path.relative_to(Path.cwd()))
    return str(path)


@app.command("status")
def status_command(root: Path | None = ROOT) -> None:
    """One line per service: up/down, URL, pid. Exit 0 when all are up, else 1."""
    rows = status(root)
    for row in rows:
        pid = f"pid {row['pid']}" if row["pid"] else "-"
        note = f"  ({row['note']})" if row["note"] else ""
        out.print(f"{row['service']:9s} {'up' if row['up'] else 'down':5s} {row['url'] or '-':32s} {pid}{note}")
    raise typer.Exit(0 if all(row["up"] for row in rows) else 1)


@app.command("down")
def down_command(
    timeout: float = typer.Option(15.0, "--timeout", help="Seconds to wait after SIGTERM before SIGKILL."),
    root: Path | None = ROOT,
) -> None:
    """Stop the services `up` started (a PostgreSQL given by --postgres-url is never touched)."""
    for name, what in down(root, timeout):
        out.print(f"{name:9s} {what}")
