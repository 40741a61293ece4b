"""The coach agrees with the run's own diagnosis: the learning rate the warning names is the coach's fix, and a loss
the coach quotes is the kept epoch's, as the warning and the score cards quote it. A loss that only fell is never
"noisy": noise is the loss going up and down, over enough epochs to tell."""

from __future__ import annotations

import numpy as np
import pytest

from core.config import DataConfig, ModelConfig, Settings, TrainConfig
from core.lab import Lab
from core.training.coach import Advice, advise
from core.training.result import EpochStats, TrainResult
from core.url.state import decode
from tests.test_coach import apply_advice

X = np.zeros((8, 2), dtype=np.float32)
SETTINGS = Settings(DataConfig(), ModelConfig(hidden=(16, 16)), TrainConfig(lr=0.03, epochs=100))


def built(train_loss, val_loss, *, train_acc: float = 0.95, val_acc: float = 0.9, status: str = "completed",
          message: str = "", suggested_lr: float | None = None) -> TrainResult:
    """A result from two loss curves of the same length."""
    history = tuple(EpochStats(e + 1, float(t), train_acc, float(v), val_acc, 0.03, 0.0, e + 1)
                    for e, (t, v) in enumerate(zip(train_loss, val_loss, strict=True)))
    return TrainResult(history, status, message, len(history), 0.0, suggested_lr=suggested_lr)


def advice_on(result: TrainResult, settings: Settings = SETTINGS) -> Advice | None:
    return advise(settings, result, None, X, reference_lr=0.03)


def trained(link: str) -> Lab:
    """A lab that trained what the link says (as the Train button would)."""
    lab = Lab(threads=1)
    lab.apply(decode(dict(part.split("=") for part in link.split("&"))).settings)
    lab.train(wait=True)
    return lab


def test_a_loss_that_only_fell_is_not_noisy() -> None:
    # the Small CNN on digits: 0.692 -> 0.308 -> 0.232, every epoch lower
    assert advice_on(built([1.819, 0.428, 0.207], [0.692, 0.308, 0.232])) is None
    halving = 0.7 * 0.5 ** np.arange(12)  # a fast, steady fall: big steps, every one of them down
    assert advice_on(built(halving, halving + 0.01)) is None


def test_noise_is_the_loss_going_up_and_down() -> None:
    E = np.arange(12)
    falling = 0.7 * np.exp(-E / 3)
    zigzag = 0.1 + 0.08 * (E % 2)
    advice = advice_on(built(falling, zigzag))
    assert advice is not None and advice.rule == "noisy_lr" and advice.fix.train.lr == 0.01
    assert advice_on(built(falling[:3], zigzag[:3])) is None  # up and down once in 3 epochs: not enough to tell
    rising = 0.2 + 0.05 * E  # a steady rise is not noise (overfitting reads it, with the training curve)
    advice = advice_on(built(falling, rising))
    assert advice is None or advice.rule != "noisy_lr", advice


def test_no_validation_split_is_no_evidence_of_noise() -> None:
    E = np.arange(30)
    assert advice_on(built(0.7 * np.exp(-E / 5), np.full(30, np.nan))) is None


def test_the_small_cnn_on_digits_is_not_called_noisy() -> None:
    advice, _ = trained("data=digits&model=cnn").coach()
    assert advice is None or advice.rule != "noisy_lr", advice


@pytest.mark.parametrize("link", ["data=circles&opt=sgd&lr=10", "data=circles&opt=sgd&lr=10&act=leaky_relu"],
                         ids=["relu", "leaky relu"])
def test_a_run_the_diagnosis_calls_overshooting_gets_its_learning_rate(link: str) -> None:
    """SGD at 10 on circles stalls; the warning says the rate is too high, so the coach's fix is its rate (not
    leaky ReLU, nor more units): SGD's usual 0.1, 100× below (it was 1, one step, which stalls again), and the
    training loss it quotes is the kept epoch's, as the warning's is."""
    lab = trained(link)
    result = lab.result
    assert result.status == "stalled" and "usual rate with this optimizer (0.1)." in result.message, result.message
    advice, _ = lab.coach()
    assert advice is not None and advice.fix.train.lr == 0.1 and advice.fix.model == lab.settings.model, advice
    kept = result.history[(result.best_epoch or len(result.history)) - 1]
    assert f"ended at {kept.train_loss:.3g}," in result.message
    assert f"{kept.train_loss:.3f}" in advice.message, (advice.message, result.message)


def test_a_rate_too_small_to_move_the_weights_gets_the_diagnosis_rate() -> None:
    lab = trained("data=circles&lr=0.00001")
    result = lab.result
    assert result.status == "not_learning" and "usual rate with this optimizer (0.03)" in result.message, result.message
    advice, _ = lab.coach()
    assert advice is not None and advice.rule == "too_slow" and advice.fix.train.lr == 0.03, advice
    assert "0.03 (3,000× larger)" in advice.fix_label


def test_rmsprop_far_too_large_is_offered_its_usual_rate_and_one_click_learns() -> None:
    """QA, tanh on circles: RMSprop at 10 diverged and the fix was 10× smaller (1), which diverged again, then 0.1
    stalled, then 0.01 learned: three clicks. The usual RMSprop rate is known (0.001): it is the one fix, and its
    run learns."""
    lab = trained("data=circles&opt=rmsprop&lr=10&act=tanh")
    assert lab.result.diverged and lab.result.message.endswith("usual rate with this optimizer (0.001)."), \
        lab.result.message
    advice, _ = lab.coach()
    assert advice.rule == "diverged" and advice.fix.train.lr == lab.result.suggested_lr == 0.001, advice
    assert advice.fix_label == "Learning rate 0.001 (10,000× smaller)" and advice.fix.model == lab.settings.model
    apply_advice(lab)
    result = lab.result
    assert lab.train_config.lr == 0.001 and not result.failed_to_learn, result.message
    assert result.history[(result.best_epoch or len(result.history)) - 1].val_acc >= 0.9, result.message
    advice, _ = lab.coach()
    assert advice is None or advice.fix.train.lr == 0.001, advice  # nothing about the rate left to fix


def test_rmsprop_far_too_small_message_and_button_name_the_usual_rate() -> None:
    """QA: RMSprop at 1e-5 ended still improving at 1,000 epochs with no rate in its message, while the coach said
    "far below this model's usual 0.001" and offered 0.0001. Both now name 0.001."""
    lab = trained("data=circles&opt=rmsprop&lr=0.00001&act=tanh")
    result = lab.result
    assert result.status == "still_improving" and result.suggested_lr == 0.001, result.message
    assert "far below this model's usual rate with this optimizer: try it (0.001)" in result.message, result.message
    advice, _ = lab.coach()
    assert advice.rule == "too_slow" and advice.fix.train.lr == 0.001, advice
    assert advice.fix_label == "Learning rate 0.001 (100× larger)" and "usual 0.001." in advice.message


def test_the_rate_is_read_from_the_diagnosis_for_any_failed_run() -> None:
    """The coach takes the rate the run's own diagnosis names (snapped to the slider); on constructed runs too."""
    stalled = built([0.7, 0.9, 1.4, 0.8, 1.6], [0.7, 0.9, 1.4, 0.8, 1.6], train_acc=0.5, val_acc=0.5,
                    status="stalled", message="The network did not learn: … Try 0.003 (x0.1).", suggested_lr=0.003)
    advice = advice_on(stalled)
    assert advice.rule == "overshooting" and advice.fix.train.lr == 0.003 and "1.600" in advice.message
    slow = built([0.69] * 11, [0.69] * 11, train_acc=0.5, val_acc=0.5, status="not_learning",
                 message="The learning rate is too small to move the weights in 11 epochs: … Try 100× larger (0.03).",
                 suggested_lr=0.03)
    assert advice_on(slow, Settings(DataConfig(), ModelConfig(hidden=(16, 16)), TrainConfig(lr=3e-4))).fix.train.lr \
        == 0.03


def test_a_quoted_training_loss_is_the_kept_epochs() -> None:
    """The score cards and the diagnosis quote the epoch whose weights the run kept; so does the coach."""
    went_on = built([0.6] * 40 + [0.7] * 10, [0.6] * 50, train_acc=0.6, val_acc=0.6)
    advice = advice_on(TrainResult(went_on.history, "early_stopped", "", 50, 0.0, best_epoch=40))
    assert advice.rule == "underfitting" and "flat at 0.600" in advice.message, advice.message


def test_a_rate_so_large_that_the_loss_rose_after_the_kept_epoch_is_the_one_fix() -> None:
    """Tanh, SGD at 10 on circles: early stopping went back to epoch 1, and the loss rose after it. The diagnosis
    said "10× larger or smaller" and the coach "flat at 0.712 … more units"; the rate is the problem, and both now
    say so with one number, the diagnosis's."""
    lab = trained("data=circles&opt=sgd&lr=10&act=tanh")
    result = lab.result
    assert result.best_epoch == 1 and len(result.history) > 2, result.history
    assert result.status == "stalled" and "usual rate with this optimizer (0.1)." in result.message, result.message
    advice, _ = lab.coach()
    assert advice is not None and advice.rule == "overshooting", advice
    assert advice.fix.train.lr == result.suggested_lr == 0.1 and advice.fix.model == lab.settings.model, advice
    assert f"rose to {result.history[-1].train_loss:.3f}" in advice.message and "units" not in advice.message


@pytest.mark.parametrize(("status", "lr"), [("stalled", 0.03), ("diverged", 0.03), ("not_learning", 1e-4)])
def test_a_failed_run_whose_diagnosis_names_no_rate_gets_none_from_the_coach(status: str, lr: float) -> None:
    """The rate to try for a failed run is the diagnosis's alone: without one, the coach works out none of its own
    (it used to fall back on 10× smaller for a stall, 10× larger for a slow rate)."""
    losses = [0.7, 0.9, 1.4, 0.8, 1.6] if status != "not_learning" else [0.69] * 11
    failed = built(losses, losses, train_acc=0.5, val_acc=0.5, status=status)
    settings = Settings(DataConfig(), ModelConfig(hidden=(16, 16)), TrainConfig(lr=lr))
    advice = advice_on(failed, settings)
    assert advice is None or advice.fix.train.lr == lr, advice



def test_a_run_that_did_not_learn_far_above_the_usual_rate_is_offered_it() -> None:
    """SGD at 3 on circles learns nothing, its loss never rising: the warning names SGD's usual 0.1 and so does the
    fix, without claiming a loss that rose."""
    lab = trained("data=circles&opt=sgd&lr=3")
    assert lab.result.status == "not_learning" and lab.result.suggested_lr == 0.1, lab.result.message
    advice, _ = lab.coach()
    assert advice.rule == "overshooting" and advice.fix.train.lr == 0.1, advice
    assert "far above this model's usual 0.1" in advice.message and "higher than" not in advice.message
