"""Backends as plugins: found through the `atlas.backends` entry-point group,
the built-in ones the same way a third party's would be; a broken plugin is
a warning, never a crash."""

from __future__ import annotations

import warnings
from importlib.metadata import EntryPoint
from pathlib import Path

import pytest
from click.testing import CliRunner

from atlas.machine import backend
from atlas.tools.cli import main


def _plugins(monkeypatch, *pairs):
    eps = [EntryPoint(name, value, backend.GROUP) for name, value in pairs]
    monkeypatch.setattr(backend, "entry_points", lambda group: eps if group == backend.GROUP else [])


def test_the_built_in_backends_are_plugins():
    found = backend.available()
    assert {"x86_64", "nvptx"} <= set(found)
    assert all(issubclass(cls, backend.Backend) for cls in found.values())
    assert backend.origin(found["x86_64"]).startswith("atlas-compiler")


@pytest.mark.parametrize(
    "value,why",
    [
        ("atlas_no_such_plugin:Backend", "failed to load: ModuleNotFoundError"),
        ("atlas.backends.x86_64:NoSuchClass", "failed to load: AttributeError"),
        ("atlas.meaning.ir:Module", "is not a subclass of atlas.machine.backend.Backend"),
    ],
)
def test_a_broken_plugin_is_a_warning_and_the_others_still_load(monkeypatch, value, why):
    _plugins(monkeypatch, ("broken", value), ("x86_64", "atlas.backends.x86_64:X86Backend"))
    with pytest.warns(UserWarning, match=why):
        found = backend.available()
    assert list(found) == ["x86_64"]


def test_a_second_plugin_of_the_same_name_is_ignored_with_a_warning(monkeypatch):
    _plugins(
        monkeypatch, ("x86_64", "atlas.backends.x86_64:X86Backend"), ("x86_64", "atlas.backends.nvptx:NvptxBackend")
    )
    with pytest.warns(UserWarning, match="two backend plugins are named 'x86_64'"):
        found = backend.available()
    assert found["x86_64"].name == "x86_64"


def test_asking_for_a_missing_backend_names_those_installed(monkeypatch):
    _plugins(monkeypatch, ("x86_64", "atlas.backends.x86_64:X86Backend"))
    with pytest.raises(backend.BackendError, match=r"no backend named 'c' is installed \(installed: x86_64\)"):
        backend.get("c")
    with pytest.raises(backend.BackendError, match="takes no options"):
        backend.get("x86_64", colour="blue")


def test_atlas_backends_lists_and_warns(monkeypatch, tmp_path):
    _plugins(
        monkeypatch,
        ("broken", "atlas_no_such_plugin:Backend"),
        ("x86_64", "atlas.backends.x86_64:X86Backend"),
        ("nvptx", "atlas.backends.nvptx:NvptxBackend"),
    )
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # the command must catch them itself
        probe = Path(__file__).parent / "fixtures" / "probe-nopopcnt.json"
        result = CliRunner().invoke(main, ["backends", "--hw", str(probe)])
    assert result.exit_code == 0, result.output
    assert "warning: backend plugin 'broken'" in result.output and "Traceback" not in result.output
    assert "x86_64" in result.output and "can target this machine" in result.output
    assert "cannot target this machine: the probe lists no NVIDIA GPU" in result.output
