"""Training jobs: a worker thread that can be polled and stopped, and a cap on jobs at once."""

from __future__ import annotations

import time

import pytest

from core.config import ModelConfig, TrainConfig
from core.models import build_model
from core.training.jobs import MAX_JOBS_ENV, JobSlots, TrainingJob, max_jobs_setting, server_capacity
from core.training.train import train_model
from tests.conftest import wait_until


def _job(data, slots: JobSlots, epochs: int = 5, **kw) -> TrainingJob:
    config = TrainConfig(epochs=epochs, batch_size=16, **kw)
    return TrainingJob(build_model(ModelConfig()), data, config, snapshot_every=1, slots=slots)


def test_synchronous_run_reports_history_and_snapshot(circles) -> None:
    progress = _job(circles, JobSlots(1)).run()
    assert progress.state == "finished" and progress.done and progress.fraction == 1.0
    assert len(progress.history) == 5 and progress.result.status in ("completed", "not_learning")
    assert progress.snapshot is not None and progress.snapshot.epoch == 5
    assert [s.epoch for s in progress.result.snapshots] == [0, 1, 2, 3, 4, 5]  # 0: the starting weights


def test_progress_moves_within_the_first_epoch(circles) -> None:
    job = TrainingJob(build_model(ModelConfig()), circles, TrainConfig(epochs=3, batch_size=1), slots=JobSlots(1))
    first = job.progress()
    assert first.steps_per_epoch == len(circles.y_train) and first.fraction == 0
    job.start()
    wait_until(lambda: job.progress().steps >= 50, what="the first 50 steps")
    seen = job.progress()
    assert not seen.history or seen.steps < seen.steps_per_epoch or seen.done  # usually still in epoch 1
    assert seen.fraction == pytest.approx(min(1.0, seen.steps / (3 * seen.steps_per_epoch))) and seen.fraction > 0
    job.stop()
    job.join(timeout=20)


def test_a_progress_taken_during_a_run_stays_as_it_was(circles) -> None:
    """The job gathers the loop's reports and makes a JobProgress only when asked: one asked for mid-run keeps
    the epochs it had, the next sees the new ones, and asking again without news gives the same object."""
    job = _job(circles, JobSlots(1), epochs=4)
    seen = []
    callbacks = job.begin()
    on_epoch = callbacks["on_epoch"]
    callbacks["on_epoch"] = lambda stats, model: (on_epoch(stats, model), seen.append(job.progress()))
    result = train_model(job.model, circles, job.config, job.options, **callbacks)
    assert [len(p.history) for p in seen] == [1, 2, 3, 4]
    assert [p.steps for p in seen] == [s.steps for s in seen[-1].history]
    assert seen[0].history == seen[-1].history[:1] and isinstance(seen[0].history, tuple)
    assert job.progress() is seen[-1] and job.progress() is job.progress()
    assert job.finish(result).history == seen[-1].history and job.progress().state == "finished"


def test_worker_thread_can_be_polled_and_stopped(circles) -> None:
    job = _job(circles, JobSlots(1), epochs=10_000).start()
    wait_until(lambda: job.progress().history, what="the first epoch")
    seen = job.progress()
    assert seen.state == "running" and 0 < seen.fraction < 1
    job.stop()
    final = job.join(timeout=20)
    assert final.state == "finished" and final.result.status == "stopped"
    assert len(final.history) < 10_000


def test_jobs_beyond_the_cap_wait_visibly(circles) -> None:
    slots = JobSlots(1)
    first = _job(circles, slots, epochs=10_000).start()
    wait_until(lambda: first.progress().state == "running", what="the first job to start")
    second = _job(circles, slots, epochs=2).start()
    time.sleep(0.2)
    assert second.progress().state == "waiting" and slots.running == 1
    first.stop()
    assert second.join(timeout=20).state == "finished"
    assert first.join(timeout=20).result.status == "stopped"


def test_stopping_a_waiting_job_ends_it_without_training(circles) -> None:
    slots = JobSlots(1)
    assert slots.acquire(lambda: False)  # hold the only slot
    job = _job(circles, slots).start()
    job.stop()
    final = job.join(timeout=5)
    assert final.result.status == "stopped" and final.history == ()
    slots.release()


def test_a_failing_run_ends_in_the_failed_state(circles) -> None:
    slots = JobSlots(1)
    job = TrainingJob(build_model(ModelConfig(n_classes=3, input_shape=(5,))), circles, TrainConfig(epochs=1),
                      slots=slots)
    final = job.run()
    assert final.state == "failed" and "Error" in final.error
    assert slots.running == 0 and slots.acquire(lambda: True)  # the failed job gave its slot back


@pytest.mark.parametrize(("cores", "expected"), [(1, (1, 1)), (2, (1, 1)), (4, (1, 3)), (8, (2, 3)), (16, (4, 3)),
                                                 (64, (4, 15))])
def test_server_capacity_keeps_a_core_for_the_web_server(cores: int, expected: tuple[int, int]) -> None:
    threads, jobs = server_capacity(cores)
    assert (threads, jobs) == expected
    assert threads * jobs <= max(1, cores - 1)  # training never takes every core


def test_server_capacity_refuses_nonsense() -> None:
    with pytest.raises(ValueError, match="cores must be at least 1"):
        server_capacity(-2)


def test_max_jobs_comes_from_the_environment_or_says_what_is_wrong(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(MAX_JOBS_ENV, raising=False)
    assert max_jobs_setting(3) == 3
    monkeypatch.setenv(MAX_JOBS_ENV, " 5 ")
    assert max_jobs_setting(3) == 5
    for bad in ("0", "two", "-1", "1.5"):
        monkeypatch.setenv(MAX_JOBS_ENV, bad)
        with pytest.raises(ValueError, match="NNLAB_MAX_JOBS must be a positive whole number"):
            max_jobs_setting(3)


def test_stop_ends_a_cnn_run_within_a_second(digits) -> None:
    from core.training.presets import CNN_MODEL

    job = TrainingJob(build_model(CNN_MODEL), digits, TrainConfig(epochs=50, batch_size=64), slots=JobSlots(1))
    job.start()
    wait_until(lambda: job.progress().steps >= 3, what="the CNN's first steps")
    started = time.perf_counter()
    job.stop()
    final = job.join(timeout=30)
    seconds = time.perf_counter() - started
    assert final.result.status == "stopped"
    # The loop checks for Stop before every step, and one CNN step on 64 digits is well under a second.
    assert seconds <= 1.0, f"Stop took {seconds:.2f} s"
