"""Sweep cells that share an architecture, trained together as one batched model.

Cells of a 2-D MLP that differ only in learning rate, weight decay, L1 and seeds (`batch_key`) train side by side.
Each parameter of the architecture is held for all cells at once, stacked as (cells, ...); each cell's model has
its own leaf parameters, views of its row of the stack. The layers run on the stack with batched matrix products,
the cells' losses are summed and differentiated with respect to the stack, so each cell's leaves get exactly its
own gradient; one optimizer holds a param group per cell with its learning rate and weight decay (stepped by
core.training.fused). Each cell shuffles with its own generator, ends on its own (diverged, early stopping, settled)
and then leaves the batch. Every cell's numbers are its solo run's (core.training.train), to the last bit on the
CPU: a product too small for bmm's per-matrix GEMM (MIN_GEMM) is done cell by cell, as bmm would round it otherwise.

Why not torch.func.vmap(functional_call) over leaves stacked every step: with six cells of the default MLP
(batch 32, 1 thread) that step costs ~0.7 ms against ~0.3 ms for the products here, which alone breaks "six cells
in at most twice one run's time"; stacking the leaves each step and spreading the gradient back cost another
~0.2 ms, hence the stack that the leaves view.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace

import numpy as np
import torch
from torch import nn

from core.config import DEFAULT_FEATURES, RunOptions, TrainConfig, validate_train_config
from core.data.dataset import Dataset
from core.models import ACTIVATIONS, InputFeatures, build_model, has_sigmoid_head
from core.sweep.grid import CellResult, SweepCell, SweepError, split_metrics
from core.training.diagnose import divergence_message
from core.training.fused import FusedStep
from core.training.losses import chance_loss_of, per_sample_loss
from core.training.result import EpochStats, TrainResult
from core.training.scoring import evaluate_loss
from core.training.train import (
    PROBE_SIZE,
    _EarlyStopping,
    _judge,
    _prepare,
    _should_end,
    make_optimizer,
    make_scheduler,
    steps_per_epoch,
)

F = nn.functional
MIN_GEMM = 400  # ATen's bmm multiplies by hand below this many multiply-adds a matrix; a solo run's addmm never does
POINTWISE = tuple(ACTIVATIONS.values())  # layers that act value by value on any shape


def batch_key(cell: SweepCell) -> tuple | None:
    """What cells must share to train as one batched model; None when `cell` cannot be batched (not a 2-D MLP,
    or with dropout)."""
    model = cell.model
    if model.kind not in ("mlp", "logreg") or model.takes_images or model.dropout > 0:
        return None
    if model.head != "softmax" or cell.train.loss != "cross_entropy":  # #19: batched cells train softmax + CE only
        return None
    return cell.data, model, replace(cell.train, lr=1.0, weight_decay=0.0, l1=0.0, seed=0, init_seed=0)


def batches(cells: Sequence[SweepCell]) -> list[list[SweepCell]]:
    """The cells in groups that train together, in the order of each group's first cell (unbatchable cells alone)."""
    groups: dict[object, list[SweepCell]] = {}
    for cell in cells:
        key = batch_key(cell)
        groups.setdefault(key if key is not None else ("alone", cell.index), []).append(cell)
    return list(groups.values())


@dataclass(eq=False)
class _Cell:
    """One cell while it trains. The field names are those of core.training.train's loop, whose end-of-epoch and
    end-of-run rules it goes through."""

    cell: SweepCell
    row: int  # its row of the stacked parameters, and its param group
    model: nn.Module  # its parameters view its row of the stack; given storage of their own at the end
    X: torch.Tensor
    y: torch.Tensor
    options: RunOptions
    stopper: _EarlyStopping
    initial_loss: float
    generator: torch.Generator  # the shuffle order, seeded by the cell's `seed` as its solo run's
    step: int = 0
    status: str = "completed"
    message: str = ""
    exploded: float | None = None
    first_loss: float | None = None
    history: list[EpochStats] = field(default_factory=list)
    epoch_end: tuple[float, float, int] | None = None  # (train loss, accuracy, points seen) of the epoch
    seconds: float | None = None  # set when the cell ends

    @property
    def config(self) -> TrainConfig:
        return self.cell.train


def _linear(h: torch.Tensor, w: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """(C, B, in) x (C, out, in) + (C, 1, out) -> (C, B, out): bmm where it runs a solo run's GEMM, else cell by
    cell."""
    _, rows, width = h.shape
    if rows * width * w.shape[1] >= MIN_GEMM:
        return torch.baddbmm(b, h, w.transpose(1, 2))
    return torch.stack(list(map(F.linear, h.unbind(), w.unbind(), b.squeeze(1).unbind())))


def _identity(layer: nn.Module) -> bool:
    """True for the input features of plain (x, y), which pass the points through."""
    return isinstance(layer, InputFeatures) and layer.names == DEFAULT_FEATURES


def _scheduler(optimizer: torch.optim.Optimizer, config: TrainConfig, total_steps: int):
    """core.training.train.make_scheduler's schedule, a one-cycle one peaking at each cell's own rate."""
    if config.schedule == "onecycle":
        peaks = [group["lr"] for group in optimizer.param_groups]
        return torch.optim.lr_scheduler.OneCycleLR(optimizer, max_lr=peaks, total_steps=total_steps)
    return make_scheduler(optimizer, config, total_steps)


def _l1(params: list[torch.Tensor]) -> torch.Tensor:
    """(C,) sum of |w| over each cell's weight matrices (biases left alone), as core.training.train.l1_penalty."""
    return sum(w.abs().sum((1, 2)) for w in params[::2])  # (weight, bias) a layer


class _Batch:
    """The cells of one batch key: their stacked parameters, the shared data tensors and one optimizer."""

    def __init__(self, cells: Sequence[SweepCell], data: Dataset, options: RunOptions) -> None:
        first = cells[0].train
        for cell in cells:
            validate_train_config(cell.train)
        models = [build_model(cell.model, seed=cell.train.init_seed) for cell in cells]
        self.X, self.y, self.X_val, self.y_val = _prepare(models[0], data, first, options)
        self.layers = [layer for layer in models[0].to(self.X.device) if not _identity(layer)]
        self.sigmoid, self.loss = has_sigmoid_head(models[0]), first.loss
        self.chance = chance_loss_of(first.loss, data.y_train)
        # (C, ...) per parameter, biases (C, 1, out) as they add to a (C, B, out) product: what autograd
        # differentiates; each model's parameters view their row of it, and their gradients are rows of `grads`,
        # so the optimizer reads what the batch writes there.
        stacked = [torch.stack([p.detach().to(self.X.device) for p in same])
                   for same in zip(*(m.parameters() for m in models))]
        self.stacked = [(s.unsqueeze(1) if s.dim() == 2 else s).requires_grad_() for s in stacked]
        self.grads = [torch.zeros_like(s) for s in self.stacked]
        for stacked, grad in zip(self.stacked, self.grads):
            stacked.grad = grad
        for row, model in enumerate(models):
            for p, stacked, grad in zip(model.parameters(), self.stacked, self.grads):
                p.data, p.grad = stacked[row].detach().view(p.shape), grad[row].view(p.shape)
        self.cells = [self._cell(row, cell, model, options) for row, (cell, model) in enumerate(zip(cells, models))]
        self.active = list(self.cells)
        self.optimizer = make_optimizer(models[0], first)  # the first cell's group, then one group per cell
        for cell in self.cells[1:]:
            self.optimizer.add_param_group({"params": list(cell.model.parameters()), "lr": cell.config.lr,
                                            "weight_decay": cell.config.weight_decay})
        self.step_groups = FusedStep(self.optimizer)
        n = len(self.y)
        self.batch = n if first.batch_size == 0 else min(first.batch_size, n)
        self.scheduler = _scheduler(self.optimizer, first, first.epochs * steps_per_epoch(n, first.batch_size))

    def _cell(self, row: int, cell: SweepCell, model: nn.Module, options: RunOptions) -> _Cell:
        initial = evaluate_loss(model, self.X[:PROBE_SIZE], self.y[:PROBE_SIZE], loss=self.loss, switch_mode=False)[0]
        stopper = _EarlyStopping(cell.train.patience, l1=cell.train.l1)
        return _Cell(cell, row, model, self.X, self.y, options, stopper, initial,
                     torch.Generator().manual_seed(cell.train.seed))

    def params(self, cells: list[_Cell]) -> tuple[list[torch.Tensor], torch.Tensor | None]:
        """The stacked parameters of `cells` (all of them, or their rows) and those rows' index (None: all)."""
        if len(cells) == len(self.cells):
            return self.stacked, None
        index = torch.tensor([c.row for c in cells], device=self.X.device)
        return [s.index_select(0, index) for s in self.stacked], index

    def forward(self, params: list[torch.Tensor], X: torch.Tensor) -> torch.Tensor:
        """Stacked parameters ((C, out, in) weights, (C, out) biases), (C, B, 2) points -> (C, B, classes) logits."""
        h, k = X, 0
        for layer in self.layers:
            if isinstance(layer, nn.Linear):
                h, k = _linear(h, params[k], params[k + 1]), k + 2
            elif isinstance(layer, POINTWISE):
                h = layer(h)
            else:  # the input features, the sigmoid head: a point at a time
                h = layer(h.flatten(0, 1)).unflatten(0, h.shape[:2])
        return h

    def step(self, cells: list[_Cell], xb: torch.Tensor, yb: torch.Tensor) -> tuple[torch.Tensor, np.ndarray]:
        """One optimizer step of `cells` on their batches (C, B, 2), (C, B): (logits, each cell's data loss)."""
        params, index = self.params(cells)
        logits = self.forward(params, xb)
        n_cells, rows, classes = logits.shape
        losses = per_sample_loss(logits.reshape(n_cells * rows, classes), yb.reshape(-1), loss=self.loss,
                                 sigmoid=self.sigmoid).view(n_cells, rows).mean(1)  # each cell's mean, as its run's
        total = losses.sum()
        rates = [c.config.l1 for c in cells]
        if any(rates):
            total = total + (torch.tensor(rates, device=total.device) * _l1(params)).sum()
        torch._foreach_zero_(self.grads)  # the stack's .grad: the step's gradients add to zeros (left-out rows too)
        total.backward()
        self.step_groups([c.row for c in cells])
        if self.scheduler is not None:
            self.scheduler.step()
        return logits.detach(), losses.detach().numpy()

    def epoch(self, number: int, should_stop: Callable[[], bool]) -> bool:
        """One pass of every active cell over its own shuffle; False when the user stopped the sweep."""
        cells, device = self.active, self.X.device
        orders = torch.stack([torch.randperm(len(self.y), generator=c.generator) for c in cells]).to(device)
        X_epoch, y_epoch = self.X[orders], self.y[orders]  # (C, n, 2), (C, n): each cell's shuffled copy
        # Each cell's loss summed in float32 step by step, as its run sums it (in numpy: no tensor op a step); the
        # batches' logits kept with the cells that took the step, and scored once at the end of the epoch.
        loss_sum, outputs, seen = np.zeros(len(cells), np.float32), [], 0
        stepping = list(range(len(cells)))  # the cells not ended in this epoch
        for start in range(0, len(self.y), self.batch):
            if should_stop():
                return False
            pick = slice(None) if len(stepping) == len(cells) else torch.tensor(stepping, device=device)
            xb, yb = X_epoch[pick, start: start + self.batch], y_epoch[pick, start: start + self.batch]
            logits, losses = self.step([cells[i] for i in stepping], xb, yb)
            for i, loss in zip(stepping, losses.tolist()):
                if _diverged(cells[i], number, loss):
                    cells[i].epoch_end = (loss, _correct(outputs, y_epoch, [i])[0] / max(seen, 1), seen + yb.shape[1])
            loss_sum[pick if len(stepping) == len(cells) else stepping] += np.float32(yb.shape[1]) * losses
            outputs.append((stepping, logits))
            seen += yb.shape[1]
            stepping = [i for i in stepping if cells[i].status == "completed"]
            if not stepping:
                break
        correct = _correct(outputs, y_epoch, range(len(cells)))
        for i, cell in enumerate(cells):
            cell.epoch_end = cell.epoch_end or (float(loss_sum[i]) / max(seen, 1), correct[i] / max(seen, 1), seen)
        return True

    def validate(self, number: int, rates: list[float], epoch_start: float, started: float) -> None:
        """Each active cell's record of the epoch, with the validation split; the cells that end here leave."""
        n_val, cells = len(self.y_val), self.active
        if n_val:
            with torch.no_grad():
                params, _ = self.params(cells)
                logits = self.forward(params, self.X_val.expand(len(cells), *self.X_val.shape))
                losses = per_sample_loss(logits.flatten(0, 1), self.y_val.repeat(len(cells)), loss=self.loss,
                                         sigmoid=self.sigmoid).view(len(cells), n_val)
                right = (logits.argmax(2) == self.y_val).sum(1).tolist()
        seconds = time.perf_counter() - epoch_start
        for i, (cell, rate) in enumerate(zip(cells, rates)):
            val_loss = val_acc = math.nan
            if n_val:  # as core.training.scoring.evaluate_loss scores a run: each cell's own sum
                val_loss, val_acc = losses[i].sum().item() / n_val, right[i] / n_val
            train_loss, train_acc, _ = cell.epoch_end
            cell.history.append(EpochStats(number, train_loss, train_acc, val_loss, val_acc, rate, seconds, cell.step))
            cell.epoch_end = None
            if _should_end(cell, cell.stopper, cell.history, self.chance):
                self.end(cell, started)
        self.active = [c for c in self.active if c.seconds is None]

    @staticmethod
    def end(cell: _Cell, started: float) -> None:
        """The cell leaves the batch: its time is taken and its parameters get no more gradients."""
        cell.seconds = time.perf_counter() - started
        for p in cell.model.parameters():
            p.grad = None


def _correct(outputs: list[tuple[list[int], torch.Tensor]], y_epoch: torch.Tensor, cells: Sequence[int]) -> list[int]:
    """How many points each of `cells` classified right in the epoch's steps so far; `outputs` holds each step's
    stepping cells and their logits (a cell that stops stepping never steps again in the epoch)."""
    if not outputs:
        return [0] * len(cells)
    if all(len(stepping) == len(y_epoch) for stepping, _ in outputs):  # every cell took every step
        logits = torch.cat([step for _, step in outputs], 1)
        return (logits.argmax(2) == y_epoch[:, :logits.shape[1]]).sum(1)[list(cells)].tolist()
    counts = []
    for i in cells:
        logits = torch.cat([step[stepping.index(i)] for stepping, step in outputs if i in stepping])
        counts.append(int((logits.argmax(1) == y_epoch[i, :len(logits)]).sum()))
    return counts


def _diverged(cell: _Cell, number: int, loss: float) -> bool:
    """Count the cell's step; True when its loss blew up, which ends it as it ends its solo run."""
    cell.step += 1
    cell.first_loss = loss if cell.first_loss is None else cell.first_loss
    if math.isfinite(loss) and loss <= max(50.0, 100.0 * cell.first_loss):
        return False
    cell.status, cell.exploded = "diverged", loss
    cell.message = divergence_message(cell.config.lr, number, cell.step, loss, cell.options.reference_lr)
    return True


def _result(cell: _Cell, chance: float) -> tuple[SweepCell, nn.Module, TrainResult]:
    """A cell's model (its parameters now in storage of their own) and its run, judged as its solo run would be."""
    for p in cell.model.parameters():
        p.data = p.data.clone()
    outcome, kept = _judge(cell, cell.stopper, cell.history, cell.initial_loss, chance)
    cell.model.to("cpu")
    return cell.cell, cell.model, TrainResult(tuple(cell.history), outcome.status, outcome.message, cell.step,
                                              cell.seconds, (), kept, cell.exploded,
                                              suggested_lr=outcome.suggested_lr)


def train_batched(cells: Sequence[SweepCell], data: Dataset, options: RunOptions = RunOptions(),  # noqa: B008
                  should_stop: Callable[[], bool] | None = None, *,
                  keep_cut: bool = False) -> list[tuple[SweepCell, nn.Module, TrainResult]]:
    """Train cells that share one `batch_key` together; each (cell, model, result) is its solo run's. Once
    `should_stop()` (checked between two steps, as a run checks it), only the cells that had already ended; with
    `keep_cut`, every cell, those cut short ended as a stopped solo run ends (status "stopped", the weights it
    has)."""
    if not cells or batch_key(cells[0]) is None or len({batch_key(cell) for cell in cells}) != 1:
        raise SweepError("Only cells of one 2-D MLP without dropout, differing in learning rate, weight decay, L1 "
                         "and seeds, train as one batched model.")
    batch, stop, started = _Batch(cells, data, options), should_stop or (lambda: False), time.perf_counter()
    for number in range(1, cells[0].train.epochs + 1):
        if not batch.active:
            break
        epoch_start = time.perf_counter()
        rates = [batch.optimizer.param_groups[c.row]["lr"] for c in batch.active]
        if not batch.epoch(number, stop):
            for cell in batch.active if keep_cut else ():
                cell.status, cell.message = "stopped", f"Stopped by the user during epoch {number}."
                batch.end(cell, started)
            return [_result(c, batch.chance) for c in batch.cells if c.seconds is not None]
        batch.validate(number, rates, epoch_start, started)
    for cell in batch.active:
        batch.end(cell, started)
    return [_result(cell, batch.chance) for cell in batch.cells]


def run_batch(cells: Sequence[SweepCell], data: Dataset, options: RunOptions,
              should_stop: Callable[[], bool] | None = None, *, keep_cut: bool = False) -> list[CellResult]:
    """`train_batched`, each cell with its metrics per split as core.sweep.grid.run_cell gives them."""
    return [CellResult(cell, result, split_metrics(model, data), model)
            for cell, model, result in train_batched(cells, data, options, should_stop, keep_cut=keep_cut)]
