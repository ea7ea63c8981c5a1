"""Slack's emoji aliases are derived from their 1.3 MB data file once per machine; the
cache never changes an answer: a stale, broken or unwritable cache costs a derivation."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from promptbot.review import scales
from promptbot.review.scales import derived_names


@pytest.fixture
def cache_dir(tmp_path, monkeypatch):
    monkeypatch.setattr(scales, "DIRECTORY", tmp_path / "cache")
    return tmp_path / "cache"


@pytest.fixture
def source(tmp_path):
    path = tmp_path / "data.json"
    path.write_text('["thumbsup"]')
    return path


def never() -> dict[str, str]:
    raise AssertionError("derived again")


def test_a_derived_table_is_kept_and_read_back(cache_dir, source) -> None:
    assert derived_names(source, lambda: {"thumbsup": "+1"}) == {"thumbsup": "+1"}
    assert json.loads(scales.entry(source).read_text()) == {"thumbsup": "+1"}
    assert derived_names(source, never) == {"thumbsup": "+1"}


def test_a_changed_source_is_derived_again(cache_dir, source) -> None:
    derived_names(source, lambda: {"thumbsup": "+1"})
    source.write_text('["thumbsup", "smile"]')
    assert derived_names(source, lambda: {"smile": "smile"}) == {"smile": "smile"}


@pytest.mark.parametrize(
    "kept", [b"", b"{not json", b'["a list"]', b'{"thumbsup": 1}', b"\xff\xfe"]
)
def test_an_entry_that_is_not_a_table_of_names_is_derived_again(cache_dir, source, kept) -> None:
    path = scales.entry(source)
    path.parent.mkdir(parents=True)
    path.write_bytes(kept)
    assert derived_names(source, lambda: {"thumbsup": "+1"}) == {"thumbsup": "+1"}
    assert derived_names(source, never) == {"thumbsup": "+1"}  # and the entry repaired


def test_a_cache_that_cannot_be_written_costs_only_the_derivation(tmp_path, monkeypatch, source):
    blocked = tmp_path / "a-file"
    blocked.write_text("")
    monkeypatch.setattr(scales, "DIRECTORY", blocked / "cache")
    assert derived_names(source, lambda: {"thumbsup": "+1"}) == {"thumbsup": "+1"}
    assert sorted(tmp_path.iterdir()) == sorted([source, blocked])  # no stray temp file


def test_the_rating_scales_read_slacks_aliases_from_the_cache(cache_dir, monkeypatch) -> None:
    scales._canonical_names.cache_clear()
    try:
        assert scales.canonical_name("thumbsup") == "+1"
        assert len(list(cache_dir.iterdir())) == 1
        scales._canonical_names.cache_clear()
        monkeypatch.setattr(scales, "_records_from_file", never)
        assert scales.canonical_name("thumbsup") == "+1"
        assert scales.canonical_name("thumbsdown") == "-1"
    finally:
        scales._canonical_names.cache_clear()


def test_no_home_directory_costs_only_the_derivation(monkeypatch, source) -> None:
    def homeless() -> Path:
        raise RuntimeError("Could not determine home directory.")

    monkeypatch.setattr(scales, "DIRECTORY", None)
    monkeypatch.delenv("XDG_CACHE_HOME", raising=False)
    monkeypatch.setattr(Path, "home", staticmethod(homeless))
    assert derived_names(source, lambda: {"thumbsup": "+1"}) == {"thumbsup": "+1"}
