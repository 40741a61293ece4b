"""Command line: `python -m core train|predict|bench` drives the engine headless."""

from __future__ import annotations

import argparse
import json
import os
import sys
from dataclasses import asdict
from pathlib import Path

from core.data import DATASETS, DataConfig, make_dataset
from core.models import ACTIVATIONS, MODEL_KINDS, ModelConfig, build_model
from core.train import OPTIMIZERS, SCHEDULES, TrainConfig, train_model


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


def _add_train_args(p: argparse.ArgumentParser) -> None:
    d, m, t = DataConfig(), ModelConfig(), TrainConfig()
    g = p.add_argument_group("data")
    g.add_argument("--dataset", choices=DATASETS, default=d.name)
    g.add_argument("--n-samples", type=int, default=d.n_samples)
    g.add_argument("--noise", type=float, default=d.noise)
    g.add_argument("--factor", type=float, default=d.factor)
    g.add_argument("--classes", type=int, default=d.n_classes, help="blobs: classes; spiral: arms")
    g.add_argument("--test-fraction", type=float, default=d.test_fraction)
    g.add_argument("--train-size", type=int, default=None, help="train on a stratified subset of N images")
    g.add_argument("--data-dir", default=None, help="MNIST folder (default $NNLAB_DATA_DIR or ./data)")
    g.add_argument("--no-download", action="store_true", help="never try to download MNIST")
    g = p.add_argument_group("model")
    g.add_argument("--model", choices=MODEL_KINDS, default=m.kind)
    g.add_argument("--hidden", type=_hidden, default=m.hidden, help="units per hidden layer, e.g. 16,16")
    g.add_argument("--activation", choices=tuple(ACTIVATIONS), default=m.activation)
    g.add_argument("--dropout", type=float, default=m.dropout)
    g.add_argument("--width", type=int, default=m.width, help="CNN channels in the first layer")
    g = p.add_argument_group("training")
    g.add_argument("--optimizer", choices=OPTIMIZERS, default=t.optimizer)
    g.add_argument("--lr", type=float, default=t.lr)
    g.add_argument("--momentum", type=float, default=t.momentum)
    g.add_argument("--batch-size", type=int, default=t.batch_size, help="0 = full batch")
    g.add_argument("--epochs", type=int, default=t.epochs)
    g.add_argument("--weight-decay", type=float, default=t.weight_decay)
    g.add_argument("--schedule", choices=SCHEDULES, default=t.schedule)
    g.add_argument("--patience", type=int, default=t.patience, help="early stopping; 0 = off")
    g.add_argument("--seed", type=int, default=t.seed)
    g.add_argument("--threads", type=int, default=os.cpu_count(), help="torch threads (default: every core)")
    g.add_argument("--channels-last", action="store_true", help="CNNs: NHWC memory format")
    p.add_argument("--save", type=Path, default=None, help="save the trained model to this file")
    p.add_argument("--json", action="store_true", help="print one JSON object")


def build_parser() -> argparse.ArgumentParser:
    """The `python -m core` argument parser."""
    parser = _Parser(prog="python -m core", description="NN Lab engine: train, predict, benchmark.")
    sub = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)
    _add_train_args(sub.add_parser("train", help="train a model and print its metrics"))
    p = sub.add_parser("predict", help="predict the digit in image files with a saved model")
    p.add_argument("--model", type=Path, required=True, help="a model file saved by `train --save`")
    p.add_argument("images", nargs="+", type=Path)
    p.add_argument("--json", action="store_true")
    p = sub.add_parser("bench", help="run the benchmark and print its table")
    p.add_argument("--data-dir", default=None)
    p.add_argument("--threads", type=int, default=os.cpu_count())
    p.add_argument("--quick", action="store_true", help="a smaller, faster run (not for the README)")
    p.add_argument("--json", action="store_true")
    return parser


def _train(args: argparse.Namespace) -> dict:
    from core.checkpoint import save_model_file
    from core.evaluate import evaluate_model

    data_cfg = DataConfig(name=args.dataset, n_samples=args.n_samples, noise=args.noise, factor=args.factor,
                          n_classes=args.classes, test_fraction=args.test_fraction, seed=args.seed,
                          train_size=args.train_size, data_dir=args.data_dir, download=not args.no_download)
    data = make_dataset(data_cfg)
    model_cfg = ModelConfig(kind=args.model, hidden=args.hidden, activation=args.activation, dropout=args.dropout,
                            width=args.width, input_shape=data.input_shape, n_classes=data.n_classes)
    train_cfg = TrainConfig(optimizer=args.optimizer, lr=args.lr, momentum=args.momentum,
                            batch_size=args.batch_size, epochs=args.epochs, weight_decay=args.weight_decay,
                            schedule=args.schedule, patience=args.patience, seed=args.seed,
                            threads=args.threads, channels_last=args.channels_last)
    model = build_model(model_cfg, seed=args.seed)
    result = train_model(model, data, train_cfg)
    metrics = {part: evaluate_model(model, X, y, data.class_names).summary()
               for part, X, y in (("train", data.X_train, data.y_train), ("test", data.X_test, data.y_test))}
    if args.save:
        save_model_file(args.save, model, model_cfg, data.class_names,
                        extra={"dataset": data.name, "test_accuracy": metrics["test"]["accuracy"]})
    return {
        "config": {"data": asdict(data_cfg), "model": asdict(model_cfg), "train": asdict(train_cfg)},
        "data_source": data.source,
        "status": result.status, "diverged": result.diverged, "message": result.message,
        "steps": result.steps, "seconds": round(result.seconds, 4),
        "metrics": metrics,
        "history": [asdict(s) for s in result.history],
        "saved_to": str(args.save) if args.save else None,
    }


def _predict(args: argparse.Namespace) -> list[dict]:
    from core.checkpoint import load_model_file
    from core.images import ImageError, prepare_image
    from core.models import predict_proba

    loaded = load_model_file(args.model)
    if tuple(loaded.config.input_shape) != (1, 28, 28):
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
    test, train = report["metrics"]["test"], report["metrics"]["train"]
    print(f"{report['data_source']}\n{report['message']}")
    print(f"train accuracy {train['accuracy']:.2%} · test accuracy {test['accuracy']:.2%} · "
          f"macro F1 {test['f1_macro']:.3f} · {report['seconds']:.2f}s")


def main(argv: list[str] | None = None) -> int:
    """Run one command; return the exit status."""
    args = build_parser().parse_args(argv)
    try:
        if args.command == "train":
            report = _train(args)
            print(json.dumps(report) if args.json else "", end="\n" if args.json else "")
            if not args.json:
                _print_train(report)
        elif args.command == "predict":
            for row in _predict(args):
                print(json.dumps(row) if args.json else
                      f"{row['image']}: " + (row.get("error") or f"{row['label']} ({row['confidence']:.0%})"))
        else:
            from core.bench import format_table, run_bench

            rows = run_bench(args.data_dir, threads=args.threads, quick=args.quick)
            print(json.dumps([asdict(r) for r in rows]) if args.json else format_table(rows))
    except ValueError as exc:  # DataError, ModelError, TrainError, CheckpointError, ...
        print(f"python -m core {args.command}: error: {exc}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
