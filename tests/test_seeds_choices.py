"""Issue 19's engine: label noise, the loss, the sigmoid head, sine/SiLU/ELU, augmentation of digits and the device,
each through the command line (in-process), model files, history, the board, sweeps and the exported script."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
import torch
from sqlalchemy import Engine

from core.__main__ import main
from core.checkpoint import CheckpointError, load_model, save_model
from core.config import DataConfig, ModelConfig, RunOptions, TrainConfig, TrainError, augment_strengths
from core.data.make import make_dataset
from core.data.noise import flip_labels
from core.evaluate import logit_chain
from core.export.script import ScriptInputs, export_script
from core.history import board
from core.history.db import open_engine
from core.history.runs import get_run, record_run, run_settings
from core.history.writer import describe_run
from core.lab import Lab
from core.models import (
    ACTIVATIONS,
    DEVICE_ENV,
    build_model,
    default_device,
    output_logits,
    predict_proba,
    resolve_device,
)
from core.sweep.grid import SETTINGS, Axis, SweepSpec, run_cell
from core.training.augment import Augmenter
from core.training.losses import chance_loss_of, per_sample_loss
from core.training.train import train_model
from core.url.text import new_token

CUDA = torch.cuda.is_available()
NOISY = DataConfig(name="circles", label_noise=0.2)


def cli(capsys: pytest.CaptureFixture, *args: str) -> dict:
    """`python -m core train --json ARGS` in this process, on one thread; its printed report."""
    assert main(["train", *args, "--threads", "1", "--json"]) == 0, capsys.readouterr().err
    return json.loads(capsys.readouterr().out)


# --- the command line: each new choice learns circles -----------------------------------------------------------


@pytest.mark.parametrize("option", [("--loss", "mse"), ("--head", "sigmoid"), ("--activation", "sine"),
                                    ("--activation", "silu"), ("--activation", "elu")], ids=" ".join)
def test_each_new_choice_learns_circles_from_the_command_line(capsys, option: tuple[str, str]) -> None:
    report = cli(capsys, "--dataset", "circles", *option)
    name = {"--loss": "train", "--head": "model", "--activation": "model"}[option[0]]
    assert report["config"][name][option[0][2:]] == option[1]  # the run used the choice, not the default
    assert report["metrics"]["test"]["accuracy"] >= 0.95, report["message"]


def test_label_noise_lowers_train_accuracy_against_its_labels_but_not_test(capsys) -> None:
    report = cli(capsys, "--dataset", "circles", "--label-noise", "0.2")
    assert report["config"]["data"]["label_noise"] == 0.2
    assert report["metrics"]["train"]["accuracy"] <= 0.90  # scored against the flipped labels it was given
    assert report["metrics"]["test"]["accuracy"] >= 0.90
    assert "flipped" in report["data_source"]


def test_cuda_asked_for_where_there_is_none_fails_in_one_line(capsys) -> None:
    if CUDA:
        pytest.skip("this machine has CUDA")
    for command in (["train", "--dataset", "circles"], ["bench", "--quick"]):
        assert main([*command, "--device", "cuda"]) == 2
        err = capsys.readouterr().err.strip()
        assert len(err.splitlines()) == 1 and "CUDA is not available" in err and "use cpu or auto" in err


def test_bad_augmentation_and_a_sigmoid_head_for_three_classes_are_refused(capsys) -> None:
    with pytest.raises(SystemExit):
        main(["train", "--augment", "shift=9"])
    assert "shift strength must be between 0.5 and 6" in capsys.readouterr().err
    assert main(["train", "--dataset", "blobs", "--head", "sigmoid", "--threads", "1"]) == 2
    assert "for 2 classes" in capsys.readouterr().err
    assert main(["train", "--dataset", "circles", "--augment", "shift", "--threads", "1"]) == 2
    assert "digit images" in capsys.readouterr().err


# --- label noise ---------------------------------------------------------------------------------------------


def test_label_noise_flips_training_labels_only_and_is_seeded() -> None:
    clean, noisy = make_dataset(replace(NOISY, label_noise=0.0)), make_dataset(NOISY)
    for split in ("X_train", "X_val", "X_test", "y_val", "y_test"):
        np.testing.assert_array_equal(getattr(noisy, split), getattr(clean, split), err_msg=split)
    flipped = noisy.y_train != clean.y_train
    assert flipped.sum() == round(0.2 * len(clean.y_train)) == noisy.n_flipped
    np.testing.assert_array_equal(noisy.y_train_clean, clean.y_train)
    np.testing.assert_array_equal(make_dataset(NOISY).y_train, noisy.y_train)  # the same seed flips the same labels
    other = make_dataset(replace(NOISY, seed=1))
    assert not np.array_equal(other.y_train != make_dataset(replace(NOISY, seed=1, label_noise=0)).y_train, flipped)
    y = np.repeat(np.arange(10), 30)
    moved = flip_labels(y, 0.5, 10, seed=3)
    assert (moved != y).sum() == 150 and len(np.unique(moved[moved != y])) > 5  # every flip lands on another class


def test_the_lab_scores_train_against_the_labels_it_trained_on_and_the_true_ones() -> None:
    lab = Lab(threads=1)
    lab.set_data(NOISY, make_dataset(NOISY))
    lab.train(wait=True)
    evaluation = lab.evaluation()
    assert evaluation.train.accuracy <= 0.9 < evaluation.train_true.accuracy
    assert evaluation.test.accuracy >= 0.9 and lab.data.n_flipped == 68


# --- losses and heads ----------------------------------------------------------------------------------------


def test_a_sigmoid_head_is_one_logit_whose_bce_and_mse_match_the_softmax_of_zero_and_z() -> None:
    torch.manual_seed(0)  # only for this test's own tensors
    z, y = torch.randn(50), torch.randint(0, 2, (50,))
    pair = torch.stack([torch.zeros(50), z], dim=1)
    bce = per_sample_loss(pair, y, loss="cross_entropy", sigmoid=True)
    reference = torch.nn.functional.binary_cross_entropy_with_logits(z, y.float(), reduction="none")
    torch.testing.assert_close(bce, reference)
    torch.testing.assert_close(bce, per_sample_loss(pair, y, loss="cross_entropy", sigmoid=False))
    torch.testing.assert_close(per_sample_loss(pair, y, loss="mse", sigmoid=True),
                               per_sample_loss(pair, y, loss="mse", sigmoid=False))
    assert chance_loss_of("mse", np.array([0, 1] * 5)) == pytest.approx(0.25)
    assert chance_loss_of("cross_entropy", np.array([0, 1] * 5)) == pytest.approx(np.log(2))
    model = build_model(ModelConfig(hidden=(4,), head="sigmoid"))
    assert model[-2].out_features == 1 and output_logits(model, np.zeros((3, 2))).shape == (3, 1)
    proba = predict_proba(model, np.ones((3, 2), np.float32))
    np.testing.assert_allclose(proba[:, 1], 1 / (1 + np.exp(-output_logits(model, np.ones((3, 2)))[:, 0])), rtol=1e-5)


def test_the_chain_from_logits_to_a_label() -> None:
    chain = logit_chain(np.array([1.0, 3.0, 0.0]), ("a", "b", "c"))
    assert chain.head == "softmax" and chain.label == 1 and chain.proba.sum() == pytest.approx(1)
    assert chain.proba[1] == pytest.approx(np.exp(3) / (np.exp(1) + np.exp(3) + 1))
    assert list(chain.table()["label"]) == [False, True, False] and "largest logit, b" in chain.formula()
    sigmoid = logit_chain(np.array([-0.5]), ("outer", "inner"))
    assert sigmoid.head == "sigmoid" and sigmoid.label == 0
    assert sigmoid.proba[1] == pytest.approx(1 / (1 + np.exp(0.5))) and "p(inner)" in sigmoid.formula()
    assert np.isnan(sigmoid.table()["logit"][0]) and sigmoid.table()["logit"][1] == -0.5


def test_the_new_activations_are_the_functions_they_name() -> None:
    x = np.linspace(-3, 3, 13, dtype=np.float32)
    t = torch.as_tensor(x)
    for name, expected in (("sine", np.sin(x)), ("silu", x / (1 + np.exp(-x))),
                           ("elu", np.where(x > 0, x, np.exp(x) - 1))):
        np.testing.assert_allclose(ACTIVATIONS[name]()(t).numpy(), expected, atol=1e-5)


# --- a sigmoid-head model everywhere a model goes ------------------------------------------------------------


@pytest.fixture(scope="module")
def sigmoid_lab() -> Lab:
    told: list = []
    lab = Lab(threads=1, on_run_end=told.append)
    config = DataConfig(name="circles", n_samples=300)
    lab.set_data(config, make_dataset(config))
    lab.set_model_config(replace(lab.model_config, head="sigmoid"))
    lab.train(replace(lab.train_config, epochs=40), wait=True)
    lab.told = told
    return lab


def test_a_sigmoid_head_model_saves_loads_and_predicts_the_same(sigmoid_lab: Lab) -> None:
    loaded = load_model(sigmoid_lab.model_file())
    assert loaded.config.head == "sigmoid" and loaded.config == sigmoid_lab.model_config
    X = sigmoid_lab.data.X_test
    np.testing.assert_allclose(predict_proba(loaded.model, X), predict_proba(sigmoid_lab.model, X), atol=1e-6)
    assert sigmoid_lab.evaluation().test.accuracy >= 0.95
    assert sigmoid_lab.logit_chain(X[0]).head == "sigmoid"
    # A file claiming a sigmoid head for three classes is refused before any model is built.
    three = ModelConfig(hidden=(4,), n_classes=3)
    raw = save_model(build_model(three), three, ("a", "b", "c"))
    forged = raw.replace(b"softmax", b"sigmoid")
    with pytest.raises(CheckpointError, match="sigmoid for 2 classes only"):
        load_model(forged)


def test_a_sigmoid_head_run_goes_into_history_and_onto_the_board(sigmoid_lab: Lab, tmp_path: Path) -> None:
    engine: Engine = open_engine(f"sqlite:///{tmp_path / 'h.sqlite3'}")
    try:
        (ended,) = sigmoid_lab.told
        session = new_token()
        run = get_run(engine, session, record_run(engine, session, describe_run(ended)))
        assert run.record.settings["head"] == "sigmoid" and run_settings(run).model.head == "sigmoid"
        assert run.record.metrics["test"]["accuracy"] >= 0.95
        board_id, _ = board.create_board(engine, "heads", sigmoid_lab.data_config)
        board.submit(engine, board_id, "ada", session, board.run_from_lab(sigmoid_lab))
        (entry,) = board.entries(engine, board_id)
        assert "sigmoid head" in entry.setup
    finally:
        engine.dispose()


def test_loss_and_head_are_sweep_axes() -> None:
    assert {"loss", "head"} <= set(SETTINGS)
    data_cfg = DataConfig(name="circles", n_samples=200)
    spec = SweepSpec(data_cfg, ModelConfig(hidden=(8,)), TrainConfig(epochs=30, batch_size=32),
                     (Axis("head", ("softmax", "sigmoid")), Axis("loss", ("cross_entropy", "mse"))))
    cells = spec.cells()
    assert [(c.model.head, c.train.loss) for c in cells] == [
        ("softmax", "cross_entropy"), ("sigmoid", "cross_entropy"), ("softmax", "mse"), ("sigmoid", "mse")]
    done = run_cell(cells[3], make_dataset(data_cfg), RunOptions(threads=1))
    assert done.test_acc > 0.8 and done.model[-2].out_features == 1


# --- augmentation ---------------------------------------------------------------------------------------------


def test_augmentation_is_seeded_keeps_the_global_rng_and_warps_within_its_strengths() -> None:
    images = torch.as_tensor(make_dataset(DataConfig(name="digits")).X_train[:64])
    before = torch.random.get_rng_state()
    every = ("shift", "rotate", "scale")
    a, b = Augmenter(every, seed=4)(images), Augmenter(every, seed=4)(images)
    assert torch.equal(torch.random.get_rng_state(), before)  # the process-wide RNG is neither read nor moved
    torch.testing.assert_close(a, b)
    assert not torch.allclose(a, Augmenter(every, seed=5)(images))
    assert a.shape == images.shape and not torch.allclose(a, images)
    # The smallest shift moves each digit by at most half a pixel: far closer to the original than the default.
    small = Augmenter(("shift0.5",), seed=4)(images)
    assert (small - images).abs().mean() < (Augmenter(("shift",), seed=4)(images) - images).abs().mean()
    assert augment_strengths(("shift", "rotate15")) == {"shift": 2.0, "rotate": 15.0}
    for bad in (("shift", "shift3"), ("flip",), ("rotate90",)):
        with pytest.raises(TrainError):
            augment_strengths(bad)


def test_augmented_training_on_digits_learns(capsys) -> None:
    report = cli(capsys, "--dataset", "digits", "--epochs", "4", "--augment", "shift,rotate=15,scale")
    assert report["config"]["train"]["augment"] == ["shift", "rotate15", "scale"]
    assert report["metrics"]["test"]["accuracy"] >= 0.85


# --- devices --------------------------------------------------------------------------------------------------


def test_auto_means_the_cpu_in_the_tests_and_an_absent_cuda_is_refused(monkeypatch) -> None:
    import os

    assert default_device(images=True).type == os.environ[DEVICE_ENV]  # conftest: the CPU unless NNLAB_TEST_DEVICE
    monkeypatch.setenv(DEVICE_ENV, "cpu")
    assert resolve_device("auto", images=True).type == "cpu"
    with pytest.raises(TrainError, match="device must be one of"):
        resolve_device("tpu", images=False)
    if not CUDA:
        data = make_dataset(DataConfig(name="circles", n_samples=100))
        with pytest.raises(TrainError, match="CUDA is not available"):
            train_model(build_model(ModelConfig()), data, TrainConfig(epochs=1), RunOptions(device="cuda"))


# --- the exported script ----------------------------------------------------------------------------------------


def test_one_exported_script_with_every_new_setting_matches_the_run(tmp_path: Path) -> None:
    data_cfg = DataConfig(name="circles", n_samples=400, noise=0.1, seed=2, label_noise=0.1)
    model = ModelConfig(hidden=(8, 8), activation="sine", head="sigmoid")
    train = TrainConfig(lr=0.03, batch_size=32, epochs=40, loss="mse", seed=3, init_seed=1)
    data = make_dataset(data_cfg)
    net = build_model(model, seed=train.init_seed)
    history = train_model(net, data, train, RunOptions(threads=1, device="cpu")).history
    test = float((predict_proba(net, data.X_test).argmax(1) == data.y_test).mean())
    path = tmp_path / "nnlab_run.py"
    path.write_text(export_script(ScriptInputs(data_cfg, model, train, data.class_names, device="cpu")))
    done = subprocess.run([sys.executable, str(path)], cwd=tmp_path, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    printed = float(re.search(r"test accuracy: ([0-9.]+) on", done.stdout).group(1))
    assert abs(printed - test) <= 0.01, (printed, test)
    losses = [float(v) for v in re.findall(r"validation loss ([0-9.]+)", done.stdout)]  # MSE, on true labels
    shown = [e.val_loss for e in history if e.epoch in (1, 40) or e.epoch % 4 == 0]
    assert losses == pytest.approx(shown, abs=2e-4)


def test_the_scripts_augmentation_draws_the_warps_the_engine_draws() -> None:
    data_cfg = DataConfig(name="mnist", data_dir="mnist-files")
    train = TrainConfig(augment=("shift", "rotate20", "scale5"), seed=7)
    text = export_script(ScriptInputs(data_cfg, ModelConfig(kind="cnn", input_shape=(1, 28, 28), n_classes=10),
                                      train, tuple("0123456789")))
    namespace: dict = {"__name__": "nnlab_script"}  # defined, not run: it would read MNIST
    exec(compile(text, "nnlab_run.py", "exec"), namespace)
    images = torch.as_tensor(make_dataset(DataConfig(name="digits")).X_train[:32])
    engine = Augmenter(train.augment, seed=train.seed)
    for _ in range(2):  # two batches: the streams stay in step
        torch.testing.assert_close(namespace["augment"](images), engine(images), atol=1e-5, rtol=0)


def test_a_link_asking_to_augment_points_says_it_was_ignored() -> None:
    from core.url.state import decode_url

    decoded = decode_url("data=circles&ln=0.2&head=sigmoid&loss=mse&aug=shift,rotate15")
    assert decoded.settings.train.augment == () and decoded.settings.data.label_noise == 0.2
    assert decoded.problems == ("aug=shift,rotate15 ignored: augmentation is for digit images.",)
    assert (decoded.settings.model.head, decoded.settings.train.loss) == ("sigmoid", "mse")
