"""Every `python -m core train` command in the README, as written, trains a model above its floor."""

from __future__ import annotations

import json
import shlex
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import ROOT, mnist_dir

# (dataset, model) -> (status the run must end with, test-accuracy floor as the README states it)
EXPECTED = {
    ("circles", "mlp"): ("completed", 0.99),
    ("circles", "logreg"): ("not_learning", 0.0),  # the lesson: a straight line cannot separate rings
    ("mnist", "mlp"): ("completed", 0.945),
    ("mnist", "cnn"): ("completed", 0.98),
    ("mnist", "lenet"): ("completed", 0.975),
}
QUICK = ["--train-size", "1500", "--epochs", "1"]  # a shortened MNIST run: does the command work at all
QUICK_FLOOR = 0.5  # one epoch on 1,500 digits: far above chance (10%), far below the full run


def readme_train_commands() -> list[list[str]]:
    """The train commands of the README's command-line section, as argument lists after `python -m core train`."""
    text = (ROOT / "README.md").read_text()
    block = text.split("## Command line", 1)[1].split("```bash", 1)[1].split("```", 1)[0]
    lines = [line.strip() for line in block.replace("\\\n", " ").splitlines()]
    return [shlex.split(line)[4:] for line in lines if line.startswith("python -m core train")]


def option(args: list[str], name: str, default: str) -> str:
    return args[args.index(name) + 1] if name in args else default


def run(args: list[str], tmp_path: Path) -> dict:
    """Run `python -m core train` with the test's data folder and a temporary model file; the JSON report."""
    args = list(args)
    if "--data-dir" in args:
        args[args.index("--data-dir") + 1] = str(mnist_dir())
    if "--save" in args:
        args[args.index("--save") + 1] = str(tmp_path / Path(args[args.index("--save") + 1]).name)
    json_flag = [] if "--json" in args else ["--json"]
    done = subprocess.run([sys.executable, "-m", "core", "train", *args, "--threads", "2", *json_flag],
                          cwd=ROOT, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


def ids(commands: list[list[str]]) -> list[str]:
    return [f"{option(c, '--dataset', 'circles')}-{option(c, '--model', 'mlp')}" for c in commands]


COMMANDS = readme_train_commands()


def test_the_readme_lists_a_command_for_every_preset_it_promises() -> None:
    assert sorted(ids(COMMANDS)) == sorted(f"{d}-{m}" for d, m in EXPECTED)
    for command in COMMANDS:  # no hand-tuned settings: each relies on its model's preset
        assert not {"--lr", "--epochs", "--batch-size", "--optimizer"} & set(command), command


@pytest.mark.parametrize("args", COMMANDS, ids=ids(COMMANDS))
def test_readme_command_works_shortened(args: list[str], tmp_path: Path) -> None:
    dataset, model = option(args, "--dataset", "circles"), option(args, "--model", "mlp")
    if dataset == "mnist":
        if mnist_dir() is None:
            pytest.skip("real MNIST test files not found in ../shared/data/mnist")
        args = [*args, *QUICK]
    report = run(args, tmp_path)
    status, floor = EXPECTED[dataset, model]
    assert report["status"] in (status, "converged"), report["message"]
    assert report["metrics"]["test"]["accuracy"] >= (QUICK_FLOOR if dataset == "mnist" else floor)
    if "--save" in args:
        assert (tmp_path / "cnn.pt").is_file() and not (ROOT / "cnn.pt").exists()


@pytest.mark.mnist
@pytest.mark.parametrize("args", [c for c in COMMANDS if option(c, "--dataset", "") == "mnist"],
                         ids=ids([c for c in COMMANDS if option(c, "--dataset", "") == "mnist"]))
def test_readme_mnist_command_in_full_reaches_its_floor(args: list[str], tmp_path: Path, mnist_folder: Path) -> None:
    report = run(args, tmp_path)
    status, floor = EXPECTED["mnist", option(args, "--model", "mlp")]
    assert report["status"] == status, report["message"]
    assert report["metrics"]["test"]["accuracy"] >= floor
    assert report["metrics"]["test"]["n_samples"] == 2000 and report["metrics"]["validation"]["n_samples"] == 1200
