"""A file the app shared (an export, say), shown in the terminal and saved beside the
database, since the shell has no Slack client to download it from."""

from __future__ import annotations

from pathlib import Path

from rich.text import Text

from promptbot.render.words import count
from promptbot.shell.render import Renderer, plain
from promptbot.standins.slack_api import UploadedFile

FIRST_LINES = 5


def _size(length: int) -> str:
    return count(length, "byte") if length < 1024 else f"{length / 1024:.1f} KB"


def save(upload: UploadedFile, folder: Path) -> Path:
    """Under its own name, never over an existing file (``name-2.csv`` and so on)."""
    name = Path(upload.filename).name or upload.id
    path = folder / name
    stem, suffix = path.stem, path.suffix
    number = 1
    while path.exists():
        number += 1
        path = folder / f"{stem}-{number}{suffix}"
    path.write_bytes(upload.content or b"")
    return path


def _shown_path(path: Path) -> str:
    try:
        return "./" + str(path.resolve().relative_to(Path.cwd().resolve()))
    except ValueError:
        return str(path)


def show(upload: UploadedFile, where: str, saved: Path, renderer: Renderer) -> None:
    renderer.console.print()
    renderer.thread_heading(f"promptbot · {where}: a file")
    lines = (upload.content or b"").decode("utf-8", errors="replace").splitlines()
    head = [
        Text(f"📎 {upload.filename} ({_size(upload.length)}), saved to {_shown_path(saved)}"),
        *(Text(line[:200], style="dim") for line in lines[:FIRST_LINES]),
    ]
    if len(lines) > FIRST_LINES:
        head.append(Text(f"… {count(len(lines) - FIRST_LINES, 'more line')}", style="dim"))
    if upload.initial_comment:
        head.insert(0, Text(plain(upload.initial_comment, renderer.names)))
    renderer.print_lines(head)
