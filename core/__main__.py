"""Command line: `python -m core train|sweep|predict|bench` drives the engine headless."""

from __future__ import annotations

import argparse
import json
import os
import sys
from dataclasses import asdict, replace
from pathlib import Path
from typing import TYPE_CHECKING

from core.config import (
    ACTIVATION_NAMES,
    AUGMENTATIONS,
    DATASETS,
    DEVICES,
    FEATURE_LABELS,
    HEADS,
    LOSSES,
    MODEL_KINDS,
    OPTIMIZERS,
    SCHEDULES,
    DataConfig,
    ModelConfig,
    RunOptions,
    TrainConfig,
    TrainError,
    augment_strengths,
    validate_train_config,
)

if TYPE_CHECKING:  # torch, scikit-learn and the engine load only when a command needs them: --help stays quick
    from core.data.dataset import Dataset
    from core.training.result import TrainResult

FEATURES = tuple(FEATURE_LABELS)


class _Parser(argparse.ArgumentParser):
    """Bad arguments: one line saying what is wrong, exit status 2."""

    def error(self, message: str):
        sys.stderr.write(f"{self.prog}: error: {message}\n")
        raise SystemExit(2)


def _hidden(text: str) -> tuple[int, ...]:
    try:
        units = tuple(int(u) for u in text.split(",") if u.strip())
    except ValueError:
        raise argparse.ArgumentTypeError(f"--hidden takes comma-separated integers like 8,8. Got {text!r}.") from None
    if not units:
        raise argparse.ArgumentTypeError("--hidden needs at least one layer, like 8 or 16,16.")
    return units


def _positive_seconds(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        value = -1.0
    if not 0 < value < float("inf"):
        raise argparse.ArgumentTypeError(f"--max-seconds takes a positive number of seconds. Got {text!r}.")
    return value


def _features(text: str) -> tuple[str, ...]:
    names = tuple(name.strip() for name in text.split(",") if name.strip())
    unknown = [name for name in names if name not in FEATURES]
    if unknown or not names:
        raise argparse.ArgumentTypeError(f"--features takes comma-separated names from {','.join(FEATURES)}. "
                                         f"Got {text!r}.")
    return tuple(name for name in FEATURES if name in names)  # the model's canonical order


def _augment(text: str) -> tuple[str, ...]:
    """'shift,rotate=15' -> ("shift", "rotate15"): each augmentation alone (its default strength) or with one."""
    chosen = tuple(part.strip().replace("=", "") for part in text.split(",") if part.strip())
    try:
        augment_strengths(chosen)
    except TrainError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None
    return chosen


def _add_train_args(p: argparse.ArgumentParser) -> None:
    """Data options default to DataConfig's; model and training options left out follow the chosen model's preset."""
    d = DataConfig()
    g = p.add_argument_group("data")
    g.add_argument("--dataset", choices=(*DATASETS, "csv"), default=d.name)
    g.add_argument("--csv", type=Path, default=None, help="--dataset csv: your own points (columns x, y, label)")
    g.add_argument("--n-samples", type=int, default=d.n_samples)
    g.add_argument("--noise", type=float, default=d.noise)
    g.add_argument("--factor", type=float, default=d.factor)
    g.add_argument("--classes", type=int, default=d.n_classes, help="blobs: classes; spiral: arms")
    g.add_argument("--test-fraction", type=float, default=d.test_fraction)
    g.add_argument("--val-fraction", type=float, default=d.val_fraction,
                   help=f"share of the training part held out for validation (default {d.val_fraction})")
    g.add_argument("--label-noise", type=float, default=d.label_noise,
                   help="share of the training labels flipped to a wrong class, 0-0.5 (validation and test stay clean)")
    g.add_argument("--train-size", type=int, default=None, help="train on a stratified subset of N images")
    g.add_argument("--data-dir", default=None, help="MNIST folder (default $NNLAB_DATA_DIR or ./data)")
    g.add_argument("--no-download", action="store_true", help="never try to download MNIST")
    g = p.add_argument_group("model (defaults: the preset of the chosen model)")
    g.add_argument("--model", choices=MODEL_KINDS, default="mlp")
    g.add_argument("--hidden", type=_hidden, help="units per hidden layer, e.g. 16,16")
    g.add_argument("--activation", choices=ACTIVATION_NAMES)
    g.add_argument("--dropout", type=float)
    g.add_argument("--width", type=int, help="CNN channels in the first layer")
    g.add_argument("--features", type=_features,
                   help=f"2-D data: the input features, any of {','.join(FEATURES)} (default x,y)")
    g.add_argument("--head", choices=HEADS, help="two classes: sigmoid is one output unit trained with BCE")
    g = p.add_argument_group("training (defaults: the preset of the chosen model)")
    g.add_argument("--optimizer", choices=OPTIMIZERS)
    g.add_argument("--lr", type=float)
    g.add_argument("--momentum", type=float)
    g.add_argument("--batch-size", type=int, help="0 = full batch")
    g.add_argument("--epochs", type=int)
    g.add_argument("--weight-decay", type=float)
    g.add_argument("--l1", type=float, help="L1 penalty rate on the weights")
    g.add_argument("--schedule", choices=SCHEDULES)
    g.add_argument("--patience", type=int, help="early stopping on the validation loss; 0 = off")
    g.add_argument("--loss", choices=LOSSES, help="cross_entropy (default) or mse (mean squared error)")
    g.add_argument("--augment", type=_augment, help=f"digits: any of {','.join(AUGMENTATIONS)}, each with an optional "
                   "strength (shift=2 pixels, rotate=10 degrees, scale=10 percent), e.g. shift,rotate=15")
    g.add_argument("--device", choices=DEVICES, default="auto", help="auto (default): CUDA for digits when present")
    g.add_argument("--seed", type=int, default=0, help="data split, shuffle order and dropout")
    g.add_argument("--init-seed", type=int, help="starting weights (default: --seed)")
    g.add_argument("--threads", type=int, default=None,
                   help="torch threads (default: 1 for 2-D points, which more threads only slow down; every core "
                        "for digits)")
    g.add_argument("--no-channels-last", action="store_true", help="CNNs: keep the NCHW memory format")
    p.add_argument("--from-url", default=None, help="a share link (or its query): run exactly what it shows")


def _given(args: argparse.Namespace, names: tuple[str, ...]) -> dict:
    """The options among `names` that the user set on the command line."""
    return {name: getattr(args, name) for name in names if getattr(args, name, None) is not None}


def configs_from_args(args: argparse.Namespace, data: Dataset) -> tuple[ModelConfig, TrainConfig]:
    """The chosen model's preset, with every option the user set applied on top."""
    from core.training.presets import preset

    base = preset(data.is_image, args.model)
    model_cfg = replace(base.model, kind=args.model, input_shape=data.input_shape, n_classes=data.n_classes,
                        **_given(args, ("hidden", "activation", "dropout", "width", "features", "head")))
    train_cfg = replace(base.train, seed=args.seed, init_seed=args.seed if args.init_seed is None else args.init_seed,
                        **_given(args, ("optimizer", "lr", "momentum", "batch_size", "epochs", "weight_decay", "l1",
                                        "schedule", "patience", "loss", "augment")))
    return model_cfg, train_cfg


def _add_max_seconds(parser: argparse.ArgumentParser, what: str) -> None:
    parser.add_argument("--max-seconds", type=_positive_seconds, default=None,
                        help=f"stop {what} after this many seconds of computing (its thread's CPU time), keeping "
                             "what it learned (status time_limit)")


def build_parser(*, sweep_options: bool = True) -> argparse.ArgumentParser:
    """The `python -m core` argument parser; without `sweep_options` the sweep's --vary (which needs the engine's
    settings table, and so torch) is left out, for commands other than sweep."""
    parser = _Parser(prog="python -m core", description="NN Lab engine: train, predict, benchmark.")
    sub = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)
    p = sub.add_parser("train", help="train a model and print its metrics")
    _add_train_args(p)
    p.add_argument("--save", type=Path, default=None, help="save the trained model to this file")
    _add_max_seconds(p, "the run")
    p.add_argument("--json", action="store_true", help="print one JSON object")
    p = sub.add_parser("sweep", help="train a grid of runs over one or two settings and print each run")
    _add_train_args(p)
    _add_max_seconds(p, "each run (or each batch of runs trained together)")
    if sweep_options:
        from core.sweep.cli import add_vary_argument

        add_vary_argument(p)
    p.add_argument("--json", action="store_true", help="print one JSON object")
    p = sub.add_parser("export-script", help="write a standalone PyTorch script that reproduces a run")
    _add_train_args(p)
    p.add_argument("--out", type=Path, default=Path("nnlab_run.py"), help="the script's file (default nnlab_run.py)")
    p = sub.add_parser("predict", help="predict the digit in image files with a saved model")
    p.add_argument("--model", type=Path, required=True, help="a model file saved by `train --save`")
    p.add_argument("images", nargs="+", type=Path)
    p.add_argument("--json", action="store_true")
    p = sub.add_parser("bench", help="run the benchmark and print its table")
    p.add_argument("--data-dir", default=None)
    p.add_argument("--threads", type=int, default=os.cpu_count())
    p.add_argument("--quick", action="store_true", help="a smaller, faster run (not for the README)")
    p.add_argument("--device", choices=DEVICES, default="auto", help="train every row there (cuda: the GPU)")
    p.add_argument("--startup", action="store_true",
                   help="time the command line's own start-up instead (fresh interpreters, about 1.5 minutes)")
    p.add_argument("--json", action="store_true")
    sub.add_parser("db", help="upgrade the history database: db upgrade [--url URL]", add_help=False)
    p = sub.add_parser("lessons", help="list the guided lessons; --check runs each one's start and solution")
    p.add_argument("--check", action="store_true", help="the solution must pass the check and the start fail it")
    p.add_argument("--json", action="store_true")
    return parser


def _points_from_csv(args: argparse.Namespace) -> Dataset:
    """--dataset csv --csv FILE: the file's points, split and standardised like any other 2-D data."""
    from core.data.csvfile import read_points_csv
    from core.data.noise import with_label_noise
    from core.data.points import points_dataset

    if args.csv is None:
        raise ValueError("--dataset csv needs --csv FILE (columns x, y, label).")
    try:
        raw = args.csv.read_bytes()
    except OSError as exc:
        raise ValueError(f"cannot read {args.csv}: {exc.strerror}.") from None
    points = read_points_csv(raw)
    data = points_dataset(points.X, points.y, points.class_names, test_fraction=args.test_fraction,
                          val_fraction=args.val_fraction, seed=args.seed, source=f"Your points from {args.csv}.")
    return with_label_noise(data, args.label_noise, args.seed)


def _from_url(args: argparse.Namespace) -> tuple[DataConfig, Dataset, ModelConfig, TrainConfig]:
    """The settings a share link holds; values the link got wrong are named on stderr and left at the preset."""
    from core.data.make import make_dataset
    from core.url.state import decode_url

    decoded = decode_url(args.from_url, limited=False)  # your own machine: the dashboard's limits do not apply
    for problem in decoded.problems:
        print(f"python -m core: ignored in the link: {problem}", file=sys.stderr)
    settings = decoded.settings
    data_cfg = replace(settings.data, data_dir=args.data_dir, download=not args.no_download)
    data = make_dataset(data_cfg)
    model_cfg = replace(settings.model, input_shape=data.input_shape, n_classes=data.n_classes)
    return data_cfg, data, model_cfg, settings.train


def _settings(args: argparse.Namespace) -> tuple[DataConfig, Dataset, ModelConfig, TrainConfig]:
    """(data config, dataset, model config, training settings) from the options or from --from-url."""
    from core.data.make import make_dataset

    if args.from_url:
        return _from_url(args)
    if args.val_fraction == 0 and args.patience:
        raise ValueError("--patience watches the validation loss: it needs --val-fraction above 0.")
    data_cfg = DataConfig(name=args.dataset, n_samples=args.n_samples, noise=args.noise, factor=args.factor,
                          n_classes=args.classes, test_fraction=args.test_fraction, val_fraction=args.val_fraction,
                          seed=args.seed, label_noise=args.label_noise, train_size=args.train_size,
                          data_dir=args.data_dir, download=not args.no_download)
    data = _points_from_csv(args) if args.dataset == "csv" else make_dataset(data_cfg)
    return (data_cfg, data, *configs_from_args(args, data))


def _export_script(args: argparse.Namespace) -> str:
    from core.export.files import run_script

    data_cfg, data, model_cfg, train_cfg = _settings(args)
    args.out.write_text(run_script(data_cfg, data, model_cfg, train_cfg, filename=args.out.name, device=args.device))
    return f"Wrote {args.out}: run it with `python {args.out}` (it prints the test accuracy)."


def _options(args: argparse.Namespace, data: Dataset, model_cfg: ModelConfig, train_cfg: TrainConfig) -> RunOptions:
    """How to run: threads, memory format, the usual rate of this model and optimizer (core.training.reference) and
    the device (refused here when it is absent)."""
    from core.models import resolve_device
    from core.training.reference import usual_lr

    resolve_device(args.device, images=data.is_image)
    threads = args.threads
    if threads is None:  # a 2-D step is too small to share between threads: more only wait on each other
        threads = (os.cpu_count() or 1) if data.is_image else 1
    return RunOptions(threads=threads, channels_last=not args.no_channels_last,
                      reference_lr=usual_lr(model_cfg, train_cfg),
                      device=args.device)


def _report(data_cfg: DataConfig, data: Dataset, model_cfg: ModelConfig, train_cfg: TrainConfig,
            options: RunOptions, result: TrainResult, metrics: dict) -> dict:
    """One run as `train --json` prints it."""
    return {
        # n_classes as the data has it: the setting itself only applies to blobs and spiral (circles said 3)
        "config": {"data": {**asdict(data_cfg), "n_classes": data.n_classes}, "model": asdict(model_cfg),
                   "train": asdict(train_cfg), "run": asdict(options)},
        "data_source": data.source,
        "status": result.status, "diverged": result.diverged, "message": result.message,
        "steps": result.steps, "seconds": round(result.seconds, 4), "best_epoch": result.best_epoch,
        "metrics": metrics,
        "history": [asdict(s) for s in result.history],
    }


def _train(args: argparse.Namespace) -> dict:
    from core.checkpoint import save_model_file
    from core.models import build_model
    from core.sweep.grid import split_metrics
    from core.training.budget import estimate
    from core.training.jobs import TrainingJob

    data_cfg, data, model_cfg, train_cfg = _settings(args)
    options = _options(args, data, model_cfg, train_cfg)
    validate_train_config(train_cfg)  # a bad setting is refused before any estimate is printed
    cost = estimate(model_cfg, train_cfg, len(data.y_train), len(data.y_val) if data.has_validation else 0)
    if not args.json:
        print(f"Estimated cost: {cost.describe()} at one thread"
              + (f"; stopped after {args.max_seconds:g} s if longer." if args.max_seconds else "."), file=sys.stderr)
    model = build_model(model_cfg, seed=train_cfg.init_seed)
    progress = TrainingJob(model, data, train_cfg, options, slots=None, time_limit=args.max_seconds).run()
    if progress.state == "failed":
        raise ValueError(f"training failed: {progress.error}")
    result = progress.result
    metrics = split_metrics(model, data)
    if args.save:
        save_model_file(args.save, model, model_cfg, data.class_names,
                        extra={"dataset": data.name, "test_accuracy": metrics["test"]["accuracy"]})
    return {**_report(data_cfg, data, model_cfg, train_cfg, options, result, metrics),
            "estimate": {"seconds": round(cost.seconds, 3), "steps": cost.steps},
            "saved_to": str(args.save) if args.save else None}


def _sweep(args: argparse.Namespace) -> dict:
    """Every cell of the grid as `train --json` prints a run (see core.sweep.cli)."""
    from core.sweep.cli import sweep_report
    from core.sweep.grid import SweepSpec

    data_cfg, data, model_cfg, train_cfg = _settings(args)
    options = _options(args, data, model_cfg, train_cfg)
    spec = SweepSpec(data_cfg, model_cfg, train_cfg, tuple(args.vary))
    return sweep_report(spec, data, options, max_seconds=args.max_seconds, run_report=lambda c: _report(
        data_cfg, data, c.cell.model, c.cell.train, options, c.result, c.metrics))


def _predict(args: argparse.Namespace) -> list[dict]:
    from core.checkpoint import load_model_file
    from core.data.images import ImageError, prepare_image
    from core.models import predict_proba

    loaded = load_model_file(args.model)
    if not loaded.config.takes_images:
        raise ValueError(f"{args.model} was trained on 2-D points; `predict` needs a model trained on digits.")
    out = []
    for path in args.images:
        try:
            prepared = prepare_image(path.read_bytes())
        except (ImageError, OSError) as exc:
            out.append({"image": str(path), "error": str(exc)})
            continue
        proba = predict_proba(loaded.model, prepared.model_input)[0]
        out.append({"image": str(path), "label": loaded.class_names[int(proba.argmax())],
                    "confidence": round(float(proba.max()), 4),
                    "probabilities": {n: round(float(p), 4) for n, p in zip(loaded.class_names, proba)}})
    return out


def _print_train(report: dict) -> None:
    print(f"{report['data_source']}\n{report['message']}")
    for part, m in report["metrics"].items():
        lo, hi = m["accuracy_ci95"]
        print(f"{part:>10} accuracy {m['accuracy']:.2%} (95% interval {lo:.1%}–{hi:.1%}, {m['n_samples']:,} samples; "
              f"always guessing the largest class: {m['majority_baseline']:.1%}) · macro F1 {m['f1_macro']:.3f}")
    print(f"{report['seconds']:.2f}s")


def main(argv: list[str] | None = None) -> int:
    """Run one command; return the exit status."""
    argv = sys.argv[1:] if argv is None else argv
    command = next((a for a in argv if not a.startswith("-")), None)
    if command == "db":  # its own parser (core.history.cli): no torch, no engine settings
        from core.history.cli import db_command

        return db_command(argv[argv.index("db") + 1:])
    if command == "board":  # the operator's way back for a class board's teacher (core.history.board_cli)
        from core.history.board_cli import board_command

        return board_command(argv[argv.index("board") + 1:])
    args = build_parser(sweep_options=command == "sweep").parse_args(argv)
    try:
        if args.command == "train":
            report = _train(args)
            print(json.dumps(report) if args.json else "", end="\n" if args.json else "")
            if not args.json:
                _print_train(report)
        elif args.command == "sweep":
            report = _sweep(args)
            if args.json:
                print(json.dumps(report))
            else:
                from core.sweep.cli import print_sweep

                print_sweep(report)
        elif args.command == "export-script":
            print(_export_script(args))
        elif args.command == "predict":
            for row in _predict(args):
                print(json.dumps(row) if args.json else
                      f"{row['image']}: " + (row.get("error") or f"{row['label']} ({row['confidence']:.0%})"))
        elif args.command == "lessons":
            from core.lessons.cli import lessons_command

            return lessons_command(check=args.check, as_json=args.json)
        elif args.startup:  # bench --startup
            from core.bench.report import format_table
            from core.bench.startup import startup_rows, time_commands

            rows = startup_rows(time_commands())
            print(json.dumps([asdict(r) for r in rows]) if args.json else format_table(rows))
        else:
            from core.bench.report import format_table, run_bench
            from core.models import DEVICE_ENV, resolve_device

            resolve_device(args.device, images=True)  # CUDA asked for and absent: one line, before any work
            if args.device != "auto":  # every run of the benchmark that says "auto" trains there
                os.environ[DEVICE_ENV] = args.device
            rows = run_bench(args.data_dir, threads=args.threads, quick=args.quick, device=args.device)
            print(json.dumps([asdict(r) for r in rows]) if args.json else format_table(rows))
    except ValueError as exc:  # DataError, ModelError, TrainError, CheckpointError, ...
        print(f"python -m core {args.command}: error: {exc}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
