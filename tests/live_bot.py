"""The real ``promptbot run``, as its own process on a loopback port, against the
stand-ins: for tests that kill it with SIGKILL at a chosen step and start it again."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from promptbot.standins import payloads
from tests.harness import MODEL_NAMES, SECRET, TOKEN

ROOT = Path(__file__).resolve().parent.parent


def write_config(directory: Path, models_url: str, **slack: Any) -> Path:
    data = {
        "models": [
            {"name": n, "model": f"{n}-id", "base_url": models_url, "timeout": 60, "max_retries": 0}
            for n in MODEL_NAMES
        ],
        "slack": {
            "posts_per_second": 0,
            "timeout": 2,
            "resume_every_seconds": 0.5,
            "lease_seconds": 3,
        }
        | slack,
    }
    path = directory / "app.yaml"
    path.write_text(yaml.safe_dump(data))
    return path


@dataclass
class LiveBot:
    process: subprocess.Popen[bytes]
    port: int
    log: Path

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def command(self, text: str, user: str = "U1", channel: str = "C1") -> int:
        body = payloads.slash_command_body(text, user_id=user, channel_id=channel)
        status, _ = payloads.post_signed(
            self.url + "/slack/events",
            body,
            SECRET,
            content_type="application/x-www-form-urlencoded",
        )
        return status

    def kill(self) -> None:
        """SIGKILL: no handler runs, nothing is flushed or released."""
        self.process.send_signal(signal.SIGKILL)
        self.process.wait(timeout=10)

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGINT)
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.kill()


def _free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def launch(directory: Path, db: Path, config: Path, slack_url: str, name: str = "bot") -> LiveBot:
    port = _free_port()
    found = shutil.which("promptbot", path=str(Path(sys.executable).parent))
    assert found, "install the project first: pip install -e ."
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SLACK_", "PROMPTBOT_"))}
    env |= {
        "SLACK_BOT_TOKEN": TOKEN,
        "SLACK_SIGNING_SECRET": SECRET,
        "SLACK_API_URL": slack_url,
        "PROMPTBOT_DB": str(db),
        "PROMPTBOT_CONFIG": str(config),
        "OPENAI_API_KEY": "sk-test",
    }
    log = directory / f"{name}.log"
    command = [found, "run", "--host", "127.0.0.1", "--port", str(port)]
    with log.open("ab") as out:
        process = subprocess.Popen(command, env=env, stdout=out, stderr=out, cwd=ROOT)
    bot = LiveBot(process, port, log)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"promptbot exited with {process.returncode}:\n{log.read_text()}")
        try:
            with urllib.request.urlopen(bot.url + "/healthz", timeout=1) as answer:
                if answer.status == 200:
                    return bot
        except OSError:
            time.sleep(0.05)
    bot.stop()
    raise TimeoutError(f"promptbot not healthy:\n{log.read_text()}")
