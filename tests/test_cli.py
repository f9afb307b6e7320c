"""The ``fastdistill`` command, called through ``main(argv)``."""

from __future__ import annotations

import subprocess
import sys

import pytest

from fastdistill.cli import main


def test_demo_runs_and_reports(capsys):
    assert main(["demo"]) == 0
    out = capsys.readouterr().out
    assert "Seed example" in out
    assert "k-means RBF features" in out and "fidelity" in out
    assert "Done." in out


def test_no_command_prints_help_and_fails(capsys):
    assert main([]) == 2
    assert "usage" in capsys.readouterr().err


def test_bad_thread_count_is_one_clear_line(capsys):
    assert main(["--threads", "0", "demo"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("fastdistill: error:") and "Traceback" not in err


def test_unknown_command_exits_2():
    with pytest.raises(SystemExit) as info:
        main(["frobnicate"])
    assert info.value.code == 2


def test_python_dash_m_entry_point():
    proc = subprocess.run([sys.executable, "-m", "fastdistill", "--version"],
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0 and proc.stdout.startswith("fastdistill ")
