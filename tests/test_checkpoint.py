"""Model files: round trips for every kind, and every hostile or broken file refused before it runs."""

from __future__ import annotations

import io
import re
import shutil
import subprocess
import sys
import tracemalloc
import zipfile
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
import torch

from core import checkpoint
from core.checkpoint import (
    FORMAT,
    CheckpointError,
    load_model,
    load_model_file,
    save_model,
    save_model_file,
)
from core.config import DataConfig, ModelConfig
from core.models import build_model, predict_proba
from tests.hostile_models import KINDS, hostile_file, raw_zip, resaved, rezipped, unpickle_unsafely, with_config

POINTS = ModelConfig(kind="mlp", hidden=(4,), input_shape=(2,), n_classes=2)
IMAGES = ModelConfig(kind="cnn", width=4, input_shape=(1, 28, 28), n_classes=10)
NAMES = ("outer", "inner")
DIGITS = tuple(str(d) for d in range(10))


def saved(config: ModelConfig = POINTS, names: tuple[str, ...] = NAMES) -> bytes:
    # seed 7, not the loader's default 0, so a load that kept fresh weights would be caught
    return save_model(build_model(config, seed=7), config, names, extra={"dataset": "circles"})


def forge(**changes: object) -> bytes:
    """A valid points-model file with some top-level entries replaced (None removes an entry)."""
    payload = torch.load(io.BytesIO(saved()), weights_only=True)
    payload.update(changes)
    payload = {k: v for k, v in payload.items() if v is not None}
    buffer = io.BytesIO()
    torch.save(payload, buffer)
    return buffer.getvalue()


def config_dict(**changes: object) -> dict:
    return {"kind": "mlp", "hidden": [4], "activation": "relu", "dropout": 0.0, "width": 32,
            "input_shape": [2], "n_classes": 2, "features": ["x", "y"], "head": "softmax", **changes}


@pytest.mark.parametrize(("config", "names"), [
    (POINTS, NAMES),
    (ModelConfig(kind="logreg", input_shape=(2,), n_classes=3), ("a", "b", "c")),
    (ModelConfig(kind="mlp", hidden=(5, 3), activation="tanh", dropout=0.3, input_shape=(2,)), NAMES),
    (IMAGES, DIGITS),
    (ModelConfig(kind="lenet", input_shape=(1, 28, 28), n_classes=10), DIGITS),
], ids=lambda v: v.kind if isinstance(v, ModelConfig) else None)
def test_round_trip_predicts_the_same(config: ModelConfig, names: tuple[str, ...]) -> None:
    model = build_model(config, seed=7)
    X = np.random.default_rng(0).normal(size=(16, *config.input_shape)).astype(np.float32)
    loaded = load_model(save_model(model, config, names, extra={"dataset": "x", "test_accuracy": np.float64(0.5)}))
    assert loaded.config == config and loaded.class_names == names
    assert loaded.extra == {"dataset": "x", "test_accuracy": 0.5}
    assert not loaded.model.training and next(loaded.model.parameters()).device.type == "cpu"
    np.testing.assert_array_equal(predict_proba(loaded.model, X), predict_proba(model, X))
    assert not np.array_equal(predict_proba(build_model(config), X), predict_proba(model, X))  # weights did move


def test_file_round_trip(tmp_path: Path) -> None:
    path = save_model_file(tmp_path / "model.pt", build_model(POINTS, seed=7), POINTS, list(NAMES))
    loaded = load_model_file(path)
    assert loaded.config == POINTS and loaded.class_names == NAMES and loaded.extra == {}
    with pytest.raises(CheckpointError, match="missing.pt cannot be read"):
        load_model_file(tmp_path / "missing.pt")


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a GPU")
def test_a_gpu_model_is_saved_for_the_cpu() -> None:
    loaded = load_model(save_model(build_model(POINTS, seed=7).cuda(), POINTS, NAMES))
    assert next(loaded.model.parameters()).device.type == "cpu"


def test_the_file_holds_only_plain_types_and_tensors() -> None:
    payload = torch.load(io.BytesIO(saved()), weights_only=True)
    assert payload["format"] == FORMAT and payload["version"] == 1
    assert payload["config"] == config_dict() and payload["class_names"] == list(NAMES)
    assert payload["extra"] == {"dataset": "circles"}
    assert all(t.device.type == "cpu" for t in payload["state_dict"].values())


@pytest.mark.parametrize("kind", KINDS)
def test_a_file_that_would_run_code_is_refused_without_running_it(tmp_path: Path, kind: str) -> None:
    control = tmp_path / "control"
    unpickle_unsafely(hostile_file(control, kind), kind)
    assert control.exists(), "the hostile file must really run code, or this test proves nothing"

    marker = tmp_path / "marker"
    match = "contains code or objects that are not allowed" if kind.startswith("torch") else "not an NN Lab model"
    with pytest.raises(CheckpointError, match=match):
        load_model(hostile_file(marker, kind))
    assert not marker.exists()


@pytest.mark.parametrize(("data", "match"), [
    (b"", "empty"),
    (np.random.default_rng(0).bytes(4096), "not an NN Lab model file"),
    (b"PK\x03\x04" + np.random.default_rng(1).bytes(4096), "truncated or damaged"),
    (b"hello, this is a text file", "not an NN Lab model file"),
])
def test_junk_is_refused(data: bytes, match: str) -> None:
    with pytest.raises(CheckpointError, match=match):
        load_model(data)


@pytest.mark.parametrize("keep", [0.5, 0.9, 0.99])
def test_a_truncated_file_is_refused(keep: float) -> None:
    data = saved(IMAGES, DIGITS)
    with pytest.raises(CheckpointError, match="truncated or damaged"):
        load_model(data[: int(len(data) * keep)])


def test_a_compressed_archive_is_refused() -> None:
    # torch.save stores entries uncompressed; a deflated entry could be a zip bomb
    source, target = zipfile.ZipFile(io.BytesIO(saved())), io.BytesIO()
    with zipfile.ZipFile(target, "w", compression=zipfile.ZIP_DEFLATED) as out:
        for entry in source.infolist():
            out.writestr(entry.filename, source.read(entry))
    with pytest.raises(CheckpointError, match="not an NN Lab model file"):
        load_model(target.getvalue())


def test_files_over_the_size_cap_are_refused_before_loading(monkeypatch, tmp_path: Path) -> None:
    data = saved()
    monkeypatch.setattr(checkpoint, "MAX_BYTES", len(data) - 1)
    with pytest.raises(CheckpointError, match=r"larger than any NN Lab model \(limit"):
        load_model(data)
    (tmp_path / "big.pt").write_bytes(data)
    with pytest.raises(CheckpointError, match="big.pt is larger than any NN Lab model"):
        load_model_file(tmp_path / "big.pt")


def plain_torch_file(obj: object) -> bytes:
    buffer = io.BytesIO()
    torch.save(obj, buffer)
    return buffer.getvalue()


@pytest.mark.parametrize(("data", "match"), [
    (plain_torch_file(build_model(POINTS).state_dict()), "PyTorch file but not an NN Lab model file"),
    (plain_torch_file(torch.zeros(3)), "PyTorch file but not an NN Lab model file"),
    (forge(format="other-app"), "PyTorch file but not an NN Lab model file"),
    (forge(version=2), "version 2, but this NN Lab reads version 1 only"),
    (forge(version=None), "version None"),
    (forge(config=[1, 2]), "config should be a dict of fields, got list"),
    (forge(config=config_dict(colour="red")), r"unknown fields \['colour'\]"),
    (forge(config={k: v for k, v in config_dict().items() if k != "width"}), r"lacks the fields \['width'\]"),
    (forge(config=config_dict(kind="transformer")), "config is invalid: Unknown model kind 'transformer'"),
    (forge(config=config_dict(hidden=[0])), r"hidden layers \[0\]; NN Lab builds at most 6 of 1 to 1024 units each"),
    (forge(config=config_dict(hidden="4")), "field 'hidden' should be like \\(8, 8\\), got '4'"),
    (forge(config=config_dict(n_classes=2.0)), "field 'n_classes' should be like 2, got 2.0"),
    (forge(config=config_dict(dropout=True)), "field 'dropout' should be like 0.0, got True"),
    (forge(class_names=["a", "b", "c"]), "names 3 classes but its model has 2"),
    (forge(class_names="ab"), "class names in this model file should be a list of strings"),
    (forge(extra=[1]), "extra metadata should be a dict, got list"),
    (forge(state_dict=None), "weights should be a dict of tensors, got NoneType"),
])
def test_malformed_contents_are_refused(data: bytes, match: str) -> None:
    with pytest.raises(CheckpointError, match=match):
        load_model(data)


def test_weights_of_another_architecture_are_refused() -> None:
    wide = build_model(ModelConfig(kind="mlp", hidden=(8, 8), input_shape=(2,), n_classes=2)).state_dict()
    relabelled = forge(config=config_dict(hidden=[16]), state_dict=wide)
    with pytest.raises(CheckpointError, match=r"missing none, unexpected \['5.weight', '5.bias'\]"):
        load_model(relabelled)
    one_layer = {k: v for k, v in wide.items() if not k.startswith("5.")}  # (8,) then a (2, 8) output
    with pytest.raises(CheckpointError, match=r"'1.weight' does not fit the config: expected shape \(16, 2\), "
                                              r"got \(8, 2\)"):
        load_model(forge(config=config_dict(hidden=[16]), state_dict=one_layer))
    with pytest.raises(CheckpointError, match=r"fit a logreg with this config: missing none, unexpected \['3.weight'"):
        load_model(forge(config=config_dict(kind="logreg")))


def test_tensors_that_do_not_match_their_config_are_refused() -> None:
    state = build_model(POINTS, seed=7).state_dict()
    with pytest.raises(CheckpointError, match=r"'3.bias' does not fit the config: expected shape \(2,\), got \(3,\)"):
        load_model(forge(state_dict={**state, "3.bias": torch.zeros(3)}))
    with pytest.raises(CheckpointError, match="'1.bias' should be a dense torch.float32 tensor, got torch.float64"):
        load_model(forge(state_dict={**state, "1.bias": torch.zeros(4, dtype=torch.float64)}))
    with pytest.raises(CheckpointError, match="'1.bias' should be a dense torch.float32 tensor, got list"):
        load_model(forge(state_dict={**state, "1.bias": [0.0] * 4}))


def test_save_refuses_what_load_would_refuse() -> None:
    model = build_model(POINTS)
    with pytest.raises(CheckpointError, match="config has 2 classes but 3 class names"):
        save_model(model, POINTS, ("a", "b", "c"))
    with pytest.raises(CheckpointError, match=r"cannot save extra\['when'\].*got object"):
        save_model(model, POINTS, NAMES, extra={"when": object()})
    with pytest.raises(CheckpointError, match="expected shape"):
        save_model(model, ModelConfig(kind="mlp", hidden=(5,), input_shape=(2,), n_classes=2), NAMES)
    with pytest.raises(ValueError, match="Unknown model kind"):
        save_model(model, ModelConfig(kind="svm"), NAMES)


@pytest.mark.parametrize("name", ["<b>inner</b>", "[click](https://example.com)", "line\nbreak", "x" * 41, ""])
def test_class_names_with_markup_or_control_characters_are_refused(name: str) -> None:
    with pytest.raises(CheckpointError, match="class names should be short plain words"):
        save_model(build_model(POINTS), POINTS, ("outer", name))
    with pytest.raises(CheckpointError, match="class names should be short plain words"):
        load_model(forge(class_names=["outer", name]))


def test_every_dataset_class_name_is_a_plain_word() -> None:
    from core.config import DATASETS, DataConfig
    from core.data.make import make_dataset

    for dataset in DATASETS:
        if dataset == "mnist":
            continue  # the same ten digit names as "digits"
        names = make_dataset(DataConfig(name=dataset, n_samples=300, train_size=100)).class_names
        config = ModelConfig(input_shape=(2,) if len(names) < 10 else (1, 28, 28), n_classes=len(names))
        assert load_model(save_model(build_model(config), config, names)).class_names == names


# ---------------------------------------------------------------- input features (issue 10)

FEATURED = ModelConfig(kind="mlp", hidden=(4,), input_shape=(2,), n_classes=2, features=("xx", "yy", "xy"))


def test_input_features_survive_the_round_trip() -> None:
    model = build_model(FEATURED, seed=7)
    X = np.random.default_rng(0).normal(size=(16, 2)).astype(np.float32)
    payload = torch.load(io.BytesIO(save_model(model, FEATURED, NAMES)), weights_only=True)
    assert payload["config"]["features"] == ["xx", "yy", "xy"]
    loaded = load_model(save_model(model, FEATURED, NAMES))
    assert loaded.config == FEATURED and loaded.config.features == ("xx", "yy", "xy")
    np.testing.assert_array_equal(predict_proba(loaded.model, X), predict_proba(model, X))


def test_a_file_from_before_features_loads_as_x_and_y() -> None:
    # Files written before the field existed have no "features": the model then takes (x, y) as it did.
    old = {k: v for k, v in config_dict().items() if k != "features"}
    state = build_model(POINTS, seed=7).state_dict()
    loaded = load_model(forge(config=old, state_dict=state))
    assert loaded.config.features == ("x", "y") and loaded.config == POINTS
    X = np.random.default_rng(1).normal(size=(8, 2)).astype(np.float32)
    np.testing.assert_array_equal(predict_proba(loaded.model, X), predict_proba(build_model(POINTS, seed=7), X))


@pytest.mark.parametrize(("features", "match"), [
    (["zz"], r"config is invalid: Unknown input features \['zz'\]"),
    ([], "config is invalid: Choose at least one input feature"),
    ([1, 2], r"field 'features' should be like \('x', 'y'\), got \[1, 2\]"),
    ("xy", r"field 'features' should be like \('x', 'y'\), got 'xy'"),
])
def test_bad_features_in_a_file_are_refused(features: object, match: str) -> None:
    with pytest.raises(CheckpointError, match=match):
        load_model(forge(config=config_dict(features=features)))


# ---------------------------------------------------------------- files that ask for too much (issue 18)

ROOT = Path(__file__).resolve().parents[1]
SHAPE_REFUSED = r"the model takes inputs of shape \({}\), but NN Lab models take 2-D points \(2,\) or 28x28 images"
LAYERS_REFUSED = r"the model has hidden layers {}; NN Lab builds at most 6 of 1 to 1024 units each\."


def refusal(data: bytes) -> str:
    """The message load_model refuses `data` with: a CheckpointError itself (no other type), in one short line."""
    with pytest.raises(CheckpointError) as caught:
        load_model(data)
    message = str(caught.value)
    assert type(caught.value) is CheckpointError and "\n" not in message and len(message) < 300, message
    return message


@pytest.mark.parametrize(("fields", "match"), [
    ({"input_shape": [25_000_000]}, SHAPE_REFUSED.format("25000000,")),
    ({"input_shape": [10**12]}, SHAPE_REFUSED.format("1000000000000,")),
    ({"input_shape": [-5]}, SHAPE_REFUSED.format("-5,")),
    ({"input_shape": [0]}, SHAPE_REFUSED.format("0,")),
    ({"input_shape": [1, 28, 29]}, SHAPE_REFUSED.format("1, 28, 29")),
    ({"input_shape": []}, SHAPE_REFUSED.format("")),
    ({"n_classes": 11}, r"the model's n_classes is 11; NN Lab models have 2 to 10 classes\."),
    ({"n_classes": 1}, r"the model's n_classes is 1; NN Lab models have 2 to 10 classes\."),
    ({"n_classes": 10**100}, r"the model's n_classes is 1000+\.\.\.0+; NN Lab models have 2 to 10 classes\."),
    ({"hidden": [2000]}, LAYERS_REFUSED.format(r"\[2000\]")),
    ({"hidden": [4] * 7}, LAYERS_REFUSED.format(r"\[4, 4, 4, 4, 4, 4, \.\.\.\]")),
    ({"kind": "logreg", "hidden": [10**9]}, LAYERS_REFUSED.format(r"\[1000000000\]")),  # unused, yet kept
    ({"kind": "logreg", "width": 10**9}, r"the model has CNN width 1000000000; NN Lab builds widths 4 to 128\."),
    ({"kind": "x" * 10_000}, r"the saved model config is invalid: Unknown model kind 'xxxxx"),
    ({"dropout": float("nan")}, r"the saved model config is invalid: dropout must be between 0 and 0\.5"),
])
def test_a_config_outside_what_nn_lab_builds_is_refused(fields: dict, match: str) -> None:
    assert re.search(match, refusal(with_config(saved(), **fields)))


WEIGHTS = build_model(POINTS, seed=7).state_dict()  # 1.weight (4, 2), 1.bias (4,), 3.weight (2, 4), 3.bias (2,)


@pytest.mark.parametrize(("changes", "match"), [
    (lambda: {"1.weight": torch.zeros(2, 4)},  # the same 8 numbers, transposed
     r"the weight '1.weight' does not fit the config: expected shape \(4, 2\), got \(2, 4\)\."),
    (lambda: {"3.weight": torch.zeros(2, 4, dtype=torch.float16)},
     r"the weight '3.weight' should be a dense torch.float32 tensor, got torch.float16 torch.strided on cpu\."),
    (lambda: {"3.bias": torch.zeros(2, dtype=torch.int64)}, r"'3.bias' should be a dense torch.float32 tensor, got "
                                                             r"torch.int64"),
    (lambda: {"1.bias": torch.zeros(4).to_sparse()}, r"'1.bias' should be a dense torch.float32 tensor, got "
                                                     r"torch.float32 torch.sparse_coo on cpu\."),
    (lambda: {"1.bias": torch.zeros(4, device="meta")}, r"got torch.float32 torch.strided on meta\."),
    (lambda: {"1.bias": torch.nested.nested_tensor([torch.zeros(2), torch.zeros(2)])}, r"on cpu \(nested\)\."),
    (lambda: {"9.weight": torch.zeros(3)}, r"fit a mlp with this config: missing none, unexpected \['9.weight'\]"),
    (lambda: {"3.bias": None}, r"do not fit a mlp with this config: missing \['3.bias'\], unexpected none\."),
    (lambda: {"k" * 10_000: torch.zeros(1)}, r"unexpected \['kkkkk"),
    (lambda: {"1.weight": torch.zeros(1000)[:8].view(4, 2)},  # right shape, but torch.save writes all 1,000 numbers
     r"the weights hold 1,014 numbers, but a mlp with this config has 22 parameters\."),
])
@pytest.mark.filterwarnings("ignore:The PyTorch API of nested tensors", "ignore:Validating sparse tensor")
def test_weights_that_do_not_fit_the_config_are_refused(changes: Callable[[], dict], match: str) -> None:
    state = {k: v for k, v in {**WEIGHTS, **changes()}.items() if v is not None}
    assert re.search(match, refusal(resaved(saved(), state_dict=state)))


def test_the_expected_weights_come_from_a_model_that_holds_no_memory() -> None:
    largest = ModelConfig(kind="mlp", hidden=(1024,) * 6, input_shape=(1, 28, 28), n_classes=10)  # ~6M parameters
    expected = checkpoint._expected_state(largest)
    assert {t.device.type for t in expected.values()} == {"meta"}
    assert sum(t.numel() for t in expected.values()) == 784 * 1024 + 5 * 1024 * 1024 + 1024 * 10 + 6 * 1024 + 10


def test_a_parameter_saved_as_such_still_loads() -> None:
    state = {k: torch.nn.Parameter(v) for k, v in WEIGHTS.items()}
    assert load_model(resaved(saved(), state_dict=state)).config == POINTS


@pytest.mark.parametrize(("changes", "match"), [
    ({"version": torch.zeros(2)}, r"this model file has version tensor\(\[0., 0.\]\), but this NN Lab reads version 1"),
    ({"version": True}, r"this model file has version True, but"),
    ({"format": torch.zeros(2)}, "this is a PyTorch file but not an NN Lab model file"),
])
def test_a_header_of_the_wrong_type_is_refused(changes: dict, match: str) -> None:
    assert re.search(match, refusal(resaved(saved(), **changes)))


ODD_VALUES = [torch.zeros(2), torch.zeros(2, device="meta"), 10**40, -1, "x" * 5000, [[[[]]]], float("nan"),
              {"a": [1]}, True, [1.5, "a"]]
ENTRIES = ["format", "version", "config", "class_names", "state_dict", "extra"]


@pytest.mark.parametrize("where", ENTRIES + [f"config.{name}" for name in checkpoint.CONFIG_FIELDS])
def test_no_other_error_escapes_whatever_a_field_holds(where: str) -> None:
    outcomes = set()
    for value in ODD_VALUES:
        if where.startswith("config."):
            data = with_config(saved(), **{where.split(".")[1]: value})
        else:
            data = resaved(saved(), **{where: value})
        try:
            load_model(data)
            outcomes.add("loaded")
        except CheckpointError as exc:  # any other type fails the test
            assert type(exc) is CheckpointError and "\n" not in str(exc) and len(str(exc)) < 300, str(exc)
            outcomes.add("refused")
    assert "refused" in outcomes


def test_a_rewritten_zip_still_loads() -> None:
    # the control for the zip forgeries below: the rewriting alone does not make a file unreadable
    assert load_model(rezipped(saved())).config == POINTS


@pytest.mark.parametrize("extra", [
    [(f"archive/pad/{i}", b"") for i in range(100)],  # more entries than a model file has
    [("archive/data.pkl", b"x")],  # a second pickle: which one a reader takes would depend on the reader
    [("elsewhere/data.pkl", b"")],  # outside the archive's folder
])
def test_zips_with_entries_torch_save_never_writes_are_refused(extra: list) -> None:
    assert refusal(rezipped(saved(), extra=extra)) == ("this is not an NN Lab model file; choose a .pt file saved "
                                                       "by NN Lab.")


def test_a_forged_directory_of_many_entries_is_refused_before_a_zip_reader_reads_it() -> None:
    data = raw_zip([(f"archive/{i}", b"") for i in range(30_000)])  # ~3 MB; a zip reader would build 30,000 records
    tracemalloc.start()
    try:
        message = refusal(data)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert message.startswith("this is not an NN Lab model file") and peak < 1_000_000, peak


def test_a_pickle_larger_than_any_model_needs_is_refused_before_unpickling() -> None:
    message = refusal(resaved(saved(), extra={"pad": "x" * 100_000}))
    assert message == ("this file's config, names and extras take 98 KB, more than the 64 KB an NN Lab model file "
                       "may hold.")
    with pytest.raises(CheckpointError, match="cannot save: this file's config, names and extras take 98 KB"):
        save_model(build_model(POINTS), POINTS, NAMES, extra={"pad": "x" * 100_000})


def test_save_refuses_a_config_outside_the_limits() -> None:
    config = ModelConfig(kind="logreg", hidden=(2000,), input_shape=(2,), n_classes=2)
    with pytest.raises(CheckpointError, match=r"hidden layers \[2000\]"):
        save_model(build_model(config), config, NAMES)


def test_a_refused_file_leaves_the_lab_as_it_was(circles) -> None:
    from core.lab import Lab

    lab = Lab()
    lab.set_data(DataConfig(name="circles", n_samples=200, noise=0.05), circles)
    raw = saved(POINTS, tuple(circles.class_names))  # a model that fits the data, loaded as a user would
    lab.load_model_file(raw)
    model, config, data, names, settings = lab.model, lab.model_config, lab.data, lab.class_names, lab.settings
    weights = {k: v.clone() for k, v in model.state_dict().items()}
    for hostile in (with_config(raw, input_shape=[25_000_000]), with_config(raw, input_shape=[-5]),
                    with_config(raw, n_classes=11), resaved(raw, state_dict={})):
        with pytest.raises(CheckpointError) as caught:
            lab.load_model_file(hostile)
        assert type(caught.value) is CheckpointError
    assert lab.model is model and lab.model_config == config and lab.data is data and lab.class_names == names
    assert lab.settings == settings and lab.from_file
    assert all(torch.equal(v, weights[k]) for k, v in lab.model.state_dict().items())


def peak_rss_mb(model: Path, image: Path) -> tuple[float, int, str]:
    """(peak RSS in MB, exit status, stderr) of `python -m core predict --model model image`."""
    report = model.with_suffix(".rss")
    run = subprocess.run(["/usr/bin/time", "-f", "%M", "-o", str(report), sys.executable, "-m", "core", "predict",
                          "--model", str(model), str(image)], cwd=ROOT, capture_output=True, text=True, timeout=300)
    return int(report.read_text().split()[-1]) / 1024, run.returncode, run.stderr


@pytest.mark.skipif(shutil.which("/usr/bin/time") is None, reason="needs GNU time at /usr/bin/time")
def test_a_hostile_file_is_refused_by_the_command_line_within_the_memory_of_a_real_one(tmp_path: Path) -> None:
    from PIL import Image, ImageDraw

    image = Image.new("L", (28, 28), 255)
    ImageDraw.Draw(image).line([(14, 4), (14, 24)], fill=0, width=3)  # a "1"
    image.save(tmp_path / "digit.png")
    real = tmp_path / "real.pt"
    real.write_bytes(saved(IMAGES, DIGITS))
    real_mb, status, err = peak_rss_mb(real, tmp_path / "digit.png")
    assert status == 0 and err == "", err
    for shape in ([25_000_000], [10**12], [-5]):
        hostile = tmp_path / f"hostile_{shape[0]}.pt"
        hostile.write_bytes(with_config(saved(), input_shape=shape))
        mb, status, err = peak_rss_mb(hostile, tmp_path / "digit.png")
        print(f"input_shape {shape}: peak RSS {mb:.0f} MB (a real model: {real_mb:.0f} MB)")  # shown with -s
        assert status != 0 and "Traceback" not in err and err.count("\n") == 1, err
        assert err.startswith(f"python -m core predict: error: the model takes inputs of shape ({shape[0]},)"), err
        assert mb <= real_mb + 50, (shape, mb, real_mb)
