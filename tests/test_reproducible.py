"""Same seeds, same numbers, under any load: builds and runs on eight threads at once give exactly what each gives
alone, and nothing seeded reads or moves torch's process-wide RNG."""

from __future__ import annotations

import threading
from dataclasses import astuple, dataclass
from datetime import UTC, datetime

import pytest
import torch
from torch import nn

from core.checkpoint import load_model, save_model
from core.config import DataConfig, ModelConfig, Settings, TrainConfig
from core.data.dataset import Dataset
from core.data.make import make_dataset
from core.history.runs import INIT_SCHEME_KEY, Run, RunRecord, run_settings, settings_params
from core.models import INIT_SCHEME, Dropout, build_model
from core.training.train import train_model

POINTS_MODEL = ModelConfig(kind="mlp", hidden=(16, 16), dropout=0.3)
DIGITS_MODEL = ModelConfig(kind="cnn", width=4, input_shape=(1, 28, 28), n_classes=10, dropout=0.3)
BUILDS_PER_THREAD = 25  # many builds each, so the threads' builds really interleave


@dataclass(frozen=True)
class Job:
    """One run: which data, which model, which seeds."""

    data: str
    model: ModelConfig
    train: TrainConfig


JOBS = [Job("points", POINTS_MODEL, TrainConfig(optimizer="adam", lr=0.01, batch_size=16, epochs=3, seed=s,
                                                init_seed=s + 10)) for s in range(4)]
JOBS += [Job("digits", DIGITS_MODEL, TrainConfig(optimizer="adam", lr=3e-3, batch_size=16, epochs=1, seed=s,
                                                 init_seed=s + 20)) for s in range(4)]


@pytest.fixture(scope="module")
def datasets() -> dict[str, Dataset]:
    return {"points": make_dataset(DataConfig(name="moons", n_samples=240, noise=0.2, seed=1)),
            "digits": make_dataset(DataConfig(name="digits", train_size=80, seed=0))}


def weights(model: nn.Module) -> dict[str, torch.Tensor]:
    return {key: t.detach().clone() for key, t in model.state_dict().items()}


def same(a: dict[str, torch.Tensor], b: dict[str, torch.Tensor]) -> bool:
    return a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)


def run(job: Job, data: Dataset) -> tuple[list[dict[str, torch.Tensor]], dict[str, torch.Tensor], list[tuple]]:
    """(the starting weights of every build, the trained weights, the history without its timings)."""
    starts = [weights(build_model(job.model, seed=job.train.init_seed)) for _ in range(BUILDS_PER_THREAD)]
    model = build_model(job.model, seed=job.train.init_seed)
    history = train_model(model, data, job.train).history
    return starts, weights(model), [astuple(e)[:6] + astuple(e)[7:] for e in history]  # all but `seconds`


def test_eight_runs_at_once_give_what_each_gives_alone(datasets) -> None:
    alone = [run(job, datasets[job.data]) for job in JOBS]
    barrier, together, errors = threading.Barrier(len(JOBS)), [None] * len(JOBS), []

    def work(i: int) -> None:
        try:
            barrier.wait(timeout=60)  # every thread starts building at the same moment
            together[i] = run(JOBS[i], datasets[JOBS[i].data])
        except BaseException as exc:  # noqa: BLE001 - handed to the main thread, which fails the test
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(i,)) for i in range(len(JOBS))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=300)
    assert not errors, errors
    for job, (starts, trained, history), (starts_now, trained_now, history_now) in zip(JOBS, alone, together):
        assert all(same(starts[0], s) for s in starts + starts_now), f"{job.data}: starting weights moved"
        assert same(trained, trained_now), f"{job.data} (seed {job.train.seed}): trained weights differ"
        assert history == history_now and len(history) == job.train.epochs
    assert not same(alone[0][1], alone[1][1])  # the seeds matter


@pytest.mark.parametrize("config", [POINTS_MODEL, DIGITS_MODEL], ids=["mlp", "cnn"])
def test_a_build_leaves_the_global_rng_alone_and_its_seed_fixes_the_weights(config: ModelConfig) -> None:
    before = torch.get_rng_state()
    a, b, c = (weights(build_model(config, seed=s)) for s in (4, 4, 5))
    assert torch.equal(torch.get_rng_state(), before)
    assert same(a, b) and not any(torch.equal(a[k], c[k]) for k in a)


def test_training_leaves_the_global_rng_alone(datasets) -> None:
    before = torch.get_rng_state()
    train_model(build_model(POINTS_MODEL, seed=0), datasets["points"], JOBS[0].train)
    assert torch.equal(torch.get_rng_state(), before)


def test_the_default_distributions_are_kept() -> None:
    # PyTorch's defaults: weights and biases uniform within ±1/sqrt(fan_in) (kaiming-uniform with a = sqrt(5)).
    model = build_model(ModelConfig(kind="mlp", hidden=(400,)), seed=0)
    first, last = model[1], model[-1]
    for t, fan_in in ((first.weight, 2), (first.bias, 2), (last.weight, 400)):  # 800, 400 and 800 values
        bound = fan_in ** -0.5
        assert bound >= t.abs().max() > 0.9 * bound
    assert abs(float(first.weight.detach().std()) - 2 ** -0.5 / 3 ** 0.5) < 0.05  # uniform(-b, b) has std b / sqrt(3)


def test_dropout_masks_come_from_their_generator() -> None:
    layer, x = Dropout(0.25), torch.ones(200, 50)
    layer.generator = torch.Generator().manual_seed(3)
    first = layer(x)
    layer.generator = torch.Generator().manual_seed(3)
    assert torch.equal(layer(x), first)
    assert not torch.equal(layer(x), first)  # the stream moves on
    assert torch.equal(first.unique(), torch.tensor([0.0, 1 / 0.75]))  # dropped, or kept and scaled by 1/(1-p)
    assert abs(float((first == 0).float().mean()) - 0.25) < 0.02
    assert torch.equal(layer.eval()(x), x)


def test_model_files_keep_their_keys_and_load_back() -> None:
    model = build_model(ModelConfig(kind="mlp", hidden=(8,), dropout=0.3), seed=1)
    assert list(model.state_dict()) == ["1.weight", "1.bias", "4.weight", "4.bias"]  # as with torch's nn.Dropout
    loaded = load_model(save_model(model, ModelConfig(kind="mlp", hidden=(8,), dropout=0.3), ("a", "b")))
    assert same(weights(loaded.model), weights(model))


def test_each_run_record_keeps_the_init_scheme_and_still_reopens() -> None:
    settings = Settings(DataConfig(name="moons", seed=3), ModelConfig(hidden=(8,)), TrainConfig(seed=2, init_seed=5))
    record = RunRecord(settings_params(settings), "completed")
    assert record.settings[INIT_SCHEME_KEY] == str(INIT_SCHEME) == "2"
    assert run_settings(Run(1, "s1", datetime.now(UTC), "train", False, None, record)) == settings
