"""The figures runner and ``clop-verify figures``: cache, --no-cache, a missing module fails, bad input
(one line, exit 2, nothing written)."""
import io
import json
import os

import pytest

from clop_verify import cli
from figures import fig3_spectra, generate as runner


@pytest.fixture
def counted_simulate(monkeypatch):
    """Count calls of simulations.simulate (still running the real simulator)."""
    import simulations

    calls = []
    real = simulations.simulate

    def wrapper(*args, **kwargs):
        calls.append(args)
        return real(*args, **kwargs)

    monkeypatch.setattr(simulations, "simulate", wrapper)
    return calls


#: The cache tests draw PNG only: a PDF per draw adds time and nothing to what they check.
PNG = ("png",)


def test_second_run_redraws_from_cache_and_no_cache_recomputes(tmp_path, counted_simulate):
    log = io.StringIO()
    first = runner.regenerate(["fig3_spectra"], tmp_path, quick=True, cache_dir=tmp_path / "cache", formats=PNG, stream=log)
    assert len(counted_simulate) == 1
    data = json.loads((tmp_path / "fig3_spectra.json").read_text())["data"]
    (tmp_path / "fig3_spectra.png").unlink()
    second = runner.regenerate(["fig3_spectra"], tmp_path, quick=True, cache_dir=tmp_path / "cache", formats=PNG, stream=log)
    assert len(counted_simulate) == 1  # nothing recomputed
    assert (tmp_path / "fig3_spectra.png").exists()  # but redrawn
    assert json.loads((tmp_path / "fig3_spectra.json").read_text())["data"] == data
    assert first.keys() == second.keys() == {"fig3_spectra"}
    runner.regenerate(["fig3_spectra"], tmp_path, quick=True, use_cache=False, cache_dir=tmp_path / "cache", formats=PNG, stream=log)
    assert len(counted_simulate) == 2
    runner.regenerate(["fig3_spectra"], tmp_path, quick=True, cache_dir=tmp_path / "cache", formats=PNG, stream=log)
    assert len(counted_simulate) == 2  # use_cache=False set nothing process-wide; its rewritten entry is read
    lines = log.getvalue().splitlines()
    assert any("recomputed" in line for line in lines) and any("from cache" in line for line in lines)


def test_missing_module_is_a_failure_not_a_silent_skip(tmp_path, monkeypatch):
    real = runner.importlib.import_module

    def fake(name):
        if name == "figures.digits":
            raise ModuleNotFoundError(f"No module named {name!r}", name=name)
        return real(name)

    monkeypatch.setattr(runner.importlib, "import_module", fake)
    log = io.StringIO()
    assert runner.regenerate(["digits"], tmp_path, stream=log) == {}  # absent: failed
    assert "digits: FAILED (ModuleNotFoundError" in log.getvalue()
    assert list(tmp_path.iterdir()) == []


def test_cli_quick_single_figure_and_format(tmp_path, capsys):
    out = tmp_path / "out"
    assert cli.main(["figures", "fig3_spectra", "--quick", "--out", str(out), "--format", "png"]) == 0
    assert sorted(p.name for p in out.iterdir() if p.is_file()) == ["fig3_spectra.json", "fig3_spectra.png"]
    assert "[1/1] fig3_spectra: done" in (err := capsys.readouterr().err)
    assert f"-> {out}/: fig3_spectra.png, fig3_spectra.json" in err  # the line names the folder


def run_cli(argv) -> int:
    """``clop-verify`` exit status, whether argparse exits or ``main`` returns."""
    try:
        return cli.main(argv)
    except SystemExit as exc:
        return exc.code


@pytest.mark.parametrize(
    "args, word",
    [
        (["fig9"], "figure names"),
        (["fig3_spectra", "--format", "jpg"], "--format"),
        (["fig3_spectra", "--format"], "--format"),  # argparse: expected at least one argument
        (["fig3_spectra", "fig4_rank", "--jobs", "0"], "argument --jobs: must be an integer in [1, 1000]; got '0'"),
        (["fig3_spectra", "--jobs", "x"], "--jobs"),
        (["fig3_spectra", "--jobs", "2", "--jobs", "3"], "--jobs"),  # given twice
    ],
)
def test_cli_bad_input_one_line_exit_2_nothing_written(tmp_path, capsys, args, word):
    out = tmp_path / "out"
    assert run_cli(["figures", "--out", str(out), *args]) == 2
    err = capsys.readouterr().err
    assert len(err.strip().splitlines()) == 1 and word in err
    assert not out.exists()


def test_cli_out_that_is_a_file(tmp_path, capsys):
    target = tmp_path / "afile"
    target.write_text("keep")
    assert run_cli(["figures", "fig3_spectra", "--out", str(target / "sub")]) == 2
    err = capsys.readouterr().err
    assert len(err.strip().splitlines()) == 1 and "--out" in err
    assert target.read_text() == "keep"


def test_a_failing_figure_is_reported_and_the_others_still_run(tmp_path, monkeypatch, capsys):
    def broken(out_dir, quick=False, formats=("png", "pdf")):
        raise RuntimeError("simulated failure")

    monkeypatch.setattr(fig3_spectra, "main", broken)  # in this process: --jobs 1 (workers would not see it)
    status = run_cli(["figures", "fig3_spectra", "fig3_tightness", "--quick", "--out", str(tmp_path), "--jobs", "1"])
    assert status == 1
    err = capsys.readouterr().err
    assert "fig3_spectra: FAILED (RuntimeError: simulated failure)" in err
    assert (tmp_path / "fig3_tightness.json").exists()


def test_jobs_above_one_is_refused_in_a_multi_process_run(tmp_path, monkeypatch):
    # The workers would not be part of the jax.distributed run; the command's own set-up is skipped here
    # (it would connect to the coordinator), the subcommand is run on its parsed arguments.
    from clop_verify.commands import figures as command
    from clop_verify.errors import UsageError

    monkeypatch.setenv("CLOP_VERIFY_COORDINATOR", "127.0.0.1:1")
    args = cli.build_parser().parse_args(["figures", "fig3_spectra", "fig4_rank", "--jobs", "2", "--out", str(tmp_path / "o")])
    with pytest.raises(UsageError, match=r"--jobs must be 1 in a multi-process run \(CLOP_VERIFY_COORDINATOR is set\); got 2"):
        command.run(args)
    assert not (tmp_path / "o").exists()
    assert command.default_jobs(16) == 1  # and the default is 1 there


@pytest.mark.skipif(not hasattr(os, "sched_setaffinity"), reason="restricts a subprocess's CPU affinity")
def test_the_default_jobs_count_the_cores_the_process_may_use():
    # Limited to one core (taskset, a container's CPU limit), two workers would share it: the default is 1.
    import subprocess
    import sys
    from pathlib import Path

    code = ("import os; os.sched_setaffinity(0, {min(os.sched_getaffinity(0))});"
            "from clop_verify.commands.figures import default_jobs; print(default_jobs(environ={'JAX_PLATFORMS': 'cpu'}))")
    root = Path(__file__).resolve().parents[2]
    proc = subprocess.run([sys.executable, "-c", code], env=dict(os.environ, PYTHONPATH=str(root)),
                          capture_output=True, text=True, check=True)
    assert proc.stdout.strip() == "1"
