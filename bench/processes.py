"""Shared by the benches: start the real `promptbot run` (or a reference server) as its
own process on a loopback port, wait until it is healthy, read its memory, stop it."""

from __future__ import annotations

import compileall
import functools
import http.client
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parent.parent
SECRET = "bench-signing-secret"
TOKEN = "xoxb-bench-token"
# Generated data sets live here between runs, so a rerun is quick.
CACHE = Path(tempfile.gettempdir()) / "promptbot-bench"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@functools.cache
def compile_project() -> None:
    """Byte-compile our packages (and the venv's) once, as an installed copy is: where
    PYTHONDONTWRITEBYTECODE is set (as on the machine these benches were written on),
    every process would otherwise compile each module whose .pyc is stale from source,
    and each start-up figure would carry it."""
    paths = [ROOT / package for package in ("promptbot", "storage", "handlers")]
    paths += [Path(p) for p in sys.path if p.endswith("site-packages")]
    for path in paths:
        compileall.compile_dir(path, quiet=2)


def promptbot_command() -> list[str]:
    found = shutil.which("promptbot", path=str(Path(sys.executable).parent))
    assert found, "install the project first: pip install -e ."
    compile_project()
    return [found]


def write_config(directory: Path, **overrides: object) -> Path:
    """One model on an endpoint nothing listens on: start-up and ratings never call it."""
    data: dict[str, object] = {
        "models": [{"name": "alpha", "model": "alpha-id", "base_url": "http://127.0.0.1:9/v1"}]
    }
    data.update(overrides)
    path = directory / "app.yaml"
    path.write_text(yaml.safe_dump(data))
    return path


@dataclass
class Server:
    name: str
    process: subprocess.Popen[bytes]
    port: int
    started: float  # time.perf_counter() just before the process was spawned
    healthy_after: float = 0.0  # seconds from spawn to the first 200 from /healthz

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def rss_mb(self) -> float:
        status = Path(f"/proc/{self.process.pid}/status").read_text()
        kb = next(int(line.split()[1]) for line in status.splitlines() if line.startswith("VmRSS"))
        return kb / 1024

    def cpu_seconds(self) -> float:
        """User + system CPU time the process has used so far."""
        fields = Path(f"/proc/{self.process.pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGINT)
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


def start(
    name: str,
    command: list[str],
    *,
    port: int,
    env: dict[str, str],
    log: Path,
    timeout: float = 60.0,
    cpus: set[int] | None = None,
) -> Server:
    """``cpus``: the cores the process may run on (by default, the bench's own)."""
    environ = {k: v for k, v in os.environ.items() if not k.startswith(("SLACK_", "PROMPTBOT_"))}
    environ.update(env)
    with log.open("wb") as out:
        started = time.perf_counter()
        process = subprocess.Popen(command, env=environ, stdout=out, stderr=out, cwd=ROOT)
    if cpus is not None:
        # Set while the new interpreter is still starting, before it has any other
        # thread: each thread it starts later inherits the cores of the one starting it.
        os.sched_setaffinity(process.pid, cpus)
    server = Server(name, process, port, started)
    deadline = started + timeout
    while time.perf_counter() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"{name} exited with {process.returncode}:\n{log.read_text()}")
        if _healthy(port):
            server.healthy_after = time.perf_counter() - started
            return server
        time.sleep(0.005)
    server.stop()
    raise TimeoutError(f"{name} not healthy after {timeout:g} s:\n{log.read_text()}")


def _healthy(port: int) -> bool:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=1)
    try:
        conn.request("GET", "/healthz")
        return conn.getresponse().status == 200
    except OSError:
        return False
    finally:
        conn.close()


def start_promptbot(
    directory: Path,
    db: Path,
    slack_api_url: str,
    *,
    threads: int = 16,
    log_name: str = "bot",
    config: Path | None = None,
    cpus: set[int] | None = None,
) -> Server:
    """The real `promptbot run` over HTTP, healthy; ``config`` defaults to the plain one."""
    port = free_port()
    env = {
        "SLACK_BOT_TOKEN": TOKEN,
        "SLACK_SIGNING_SECRET": SECRET,
        "SLACK_API_URL": slack_api_url,
        "PROMPTBOT_DB": str(db),
        "PROMPTBOT_CONFIG": str(config or write_config(directory)),
    }
    command = [*promptbot_command(), "run", "--host", "127.0.0.1", "--port", str(port)]
    command += ["--threads", str(threads)]
    log = directory / f"{log_name}.log"
    return start("promptbot", command, port=port, env=env, log=log, cpus=cpus)


def start_reference(
    kind: str,
    directory: Path,
    slack_api_url: str,
    *,
    threads: int = 16,
    cpus: set[int] | None = None,
) -> Server:
    port = free_port()
    env = {
        "SLACK_BOT_TOKEN": TOKEN,
        "SLACK_SIGNING_SECRET": SECRET,
        "SLACK_API_URL": slack_api_url,
    }
    script = str(ROOT / "bench" / "reference_servers.py")
    command = [sys.executable, script, kind, "--port", str(port), "--threads", str(threads)]
    log = directory / f"{kind}.log"
    return start(f"bare {kind}", command, port=port, env=env, log=log, cpus=cpus)
