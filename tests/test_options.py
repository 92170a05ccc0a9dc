"""`pytest --help` lists every option of the plugin (argparse formats help text: a bare % breaks it)."""

import dataclasses

from pytest_mmlu.engine.settings import Settings
from pytest_mmlu.plugin.options import OPTIONS


def test_help_lists_every_option(pytester):
    result = pytester.runpytest("--help")
    assert result.ret == 0
    out = result.stdout.str()
    for opt in OPTIONS:
        assert f"--mmlu-{opt.name}" in out
    assert "55%;" in out  # a literal percent sign, not a format error


def test_every_option_fills_one_setting():
    assert sorted(opt.setting for opt in OPTIONS) == sorted(f.name for f in dataclasses.fields(Settings))
