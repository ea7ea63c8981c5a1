"""Commands that only read open the database read-only, so a backup can be inspected
where nothing may be written (a read-only folder, a mounted snapshot)."""

import hashlib
import shutil
import subprocess

import pytest
from click.testing import CliRunner
from sqlite_utils import Database

from promptbot.cli.main import cli
from promptbot.errors import StorageError, StorageUnavailable
from storage import Store
from storage.migrations import migrations
from tests import factories


def _filled_db(path):
    store = Store(path)
    factories.posted_run(store, "greet")
    store.close()
    return path


@pytest.fixture
def frozen_folder(tmp_path):
    """A folder holding a copy of a WAL database that even root cannot write to."""
    folder = tmp_path / "backup"
    folder.mkdir()
    _filled_db(tmp_path / "live.db")
    shutil.copy(tmp_path / "live.db", folder / "p.db")
    if subprocess.run(["chattr", "+i", str(folder)], capture_output=True).returncode != 0:
        pytest.skip("chattr +i is not available here to make a read-only folder")
    try:
        yield folder
    finally:
        subprocess.run(["chattr", "-i", str(folder)], check=True)


def _digest(folder):
    return hashlib.sha256((folder / "p.db").read_bytes()).hexdigest()


@pytest.mark.parametrize(
    ("args", "expected"),
    [(["digest", "--print"], "Prompt digest"), (["export", "--format", "json"], '"greet"')],
)
def test_read_only_commands_work_on_a_backup_in_a_read_only_folder(
    frozen_folder, tmp_path, args, expected, cli_in_process
):
    config = tmp_path / "app.yaml"
    config.write_text("{}\n")
    before = _digest(frozen_folder)
    env = {"PROMPTBOT_CONFIG": str(config), "PROMPTBOT_DB": str(frozen_folder / "p.db")}

    result = CliRunner().invoke(cli, args, env=env)

    assert result.exit_code == 0, result.output
    assert expected in result.output
    assert _digest(frozen_folder) == before
    assert sorted(p.name for p in frozen_folder.iterdir()) == ["p.db"]


def test_a_read_only_store_cannot_write(tmp_path):
    path = _filled_db(tmp_path / "p.db")
    store = Store(path, read_only=True)

    assert store.query("SELECT name FROM prompts") == [{"name": "greet"}]
    with pytest.raises(StorageUnavailable, match="read-only"), store.transaction() as db:
        db.execute("DELETE FROM prompts")


def test_an_older_schema_is_refused_in_one_line_and_left_as_it_was(tmp_path):
    path = tmp_path / "old.db"
    names = [m.name for m in migrations.pending(Database(memory=True))]
    first, second = names[0], names[1]
    migrations.apply(Database(str(path)), stop_before=second)
    before = path.read_bytes()

    with pytest.raises(StorageError) as raised:
        Store(path, read_only=True)

    assert "older schema" in str(raised.value) and second in str(raised.value)
    assert first not in str(raised.value)
    assert path.read_bytes() == before


def test_a_missing_database_is_not_created(tmp_path):
    config = tmp_path / "app.yaml"
    config.write_text("{}\n")
    env = {"PROMPTBOT_CONFIG": str(config), "PROMPTBOT_DB": str(tmp_path / "none.db")}

    result = CliRunner().invoke(cli, ["export"], env=env)

    assert result.exit_code == 2
    assert result.output.strip().splitlines() == [
        f"Error: cannot open database {tmp_path / 'none.db'}: no such file"
    ]
    assert not (tmp_path / "none.db").exists()
