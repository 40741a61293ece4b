"""Settings <-> query string: round trips, presets left out, every field accounted for, hostile links."""

from __future__ import annotations

import random
import re
from dataclasses import dataclass, fields, replace
from urllib.parse import parse_qsl

import numpy as np
import pytest

from core.config import (
    DATASETS,
    OPTIMIZERS,
    OWN_POINTS,
    POINT_DATASETS,
    SCHEDULES,
    DataConfig,
    ModelConfig,
    Settings,
    TrainConfig,
    data_shape,
    shaped,
)
from core.data.dataset import Dataset
from core.data.drawn import MAX_IN_LINK, as_arrays, as_points, drawn_config, pack_link
from core.data.make import make_dataset
from core.models import ACTIVATIONS, FEATURES
from core.url.points import MAX_POINTS_CHARS, POINTS_PARAM
from core.url.state import (
    CONTROLS,
    NEVER_IN_URL,
    PAGE_NAMES,
    RESERVED,
    TOKEN_PARAM,
    URL_NAMES,
    VALIDATORS,
    Classroom,
    apply_locks,
    decode,
    decode_url,
    encode,
    preset_settings,
    share_query,
    to_query,
    url_fields,
)
from core.url.text import MAX_PROBLEM_CHARS, MAX_PROBLEMS, format_value, new_token, parse_value

CONFIGS = (DataConfig, ModelConfig, TrainConfig)


def settings_of(data: DataConfig, model: ModelConfig | None = None, train: TrainConfig | None = None,
                page: str | None = None) -> Settings:
    return Settings(data, shaped(model or ModelConfig(), data), train or TrainConfig(), page)


def round_trip(settings: Settings, classroom: Classroom | None = None):
    classroom = classroom or Classroom()
    return decode_url("http://localhost:8501/?" + share_query(settings, classroom=classroom))


# --- every field is accounted for ------------------------------------------------------------


def unaccounted(cls: type, names: dict[str, str], never: dict[str, str]) -> set[str]:
    """Fields of `cls` with neither a URL name nor a reason never to travel."""
    return {f.name for f in fields(cls)} - set(names) - set(never)


@pytest.mark.parametrize("cls", CONFIGS, ids=lambda c: c.__name__)
def test_every_config_field_has_a_url_name_or_a_reason_never_to_travel(cls: type) -> None:
    missing = unaccounted(cls, URL_NAMES[cls], NEVER_IN_URL[cls])
    assert not missing, f"add {sorted(missing)} to URL_NAMES or NEVER_IN_URL in core/url/state.py"
    stale = (set(URL_NAMES[cls]) | set(NEVER_IN_URL[cls])) - {f.name for f in fields(cls)}
    assert not stale, f"{sorted(stale)} are no longer fields of {cls.__name__}"
    assert not set(URL_NAMES[cls]) & set(NEVER_IN_URL[cls])


def test_the_field_check_notices_a_new_field() -> None:
    @dataclass(frozen=True)
    class Grown(TrainConfig):
        shiny: int = 0

    assert unaccounted(Grown, URL_NAMES[TrainConfig], NEVER_IN_URL[TrainConfig]) == {"shiny"}


def test_url_names_are_short_distinct_and_not_reserved() -> None:
    names = [key for cls in CONFIGS for key in URL_NAMES[cls].values()]
    assert len(names) == len(set(names))
    assert not set(names) & set(RESERVED)
    assert all(re.fullmatch(r"[a-z][a-z0-9_]{0,7}", key) for key in names)


@pytest.mark.parametrize("cls", CONFIGS, ids=lambda c: c.__name__)
def test_every_travelling_field_type_reads_back_its_own_text(cls: type) -> None:
    default = cls()
    for name, _, tp in url_fields(cls):
        value = getattr(default, name)
        assert parse_value(tp, format_value(tp, value)) == value, name


def test_server_paths_and_run_mechanics_never_travel() -> None:
    settings = settings_of(DataConfig(name="digits", data_dir="/secret/path", download=False))
    query = share_query(settings)
    assert "secret" not in query and "download" not in query and "input_shape" not in query


# --- round trips -----------------------------------------------------------------------------


CASES = [
    settings_of(DataConfig()),
    settings_of(DataConfig(name="blobs", n_samples=1000, noise=0.3, n_classes=5, test_fraction=0.3,
                           val_fraction=0.1, seed=7),
                ModelConfig(hidden=(4, 4, 4), activation="tanh", dropout=0.2, features=("x", "y", "xy", "sinx")),
                TrainConfig(optimizer="sgd", lr=0.1, momentum=0.5, batch_size=16, epochs=20, weight_decay=1e-4,
                            l1=1e-5, schedule="cosine", patience=5, seed=3, init_seed=9), page="train"),
    settings_of(DataConfig(name="digits", train_size=500), ModelConfig(kind="cnn", width=16),
                TrainConfig(lr=3e-3, batch_size=64, epochs=3, schedule="onecycle")),
    settings_of(DataConfig(name="mnist", train_size=None), ModelConfig(kind="lenet"), TrainConfig(lr=1e-5)),
    settings_of(DataConfig(name="moons", noise=0.0), ModelConfig(kind="logreg"), TrainConfig(epochs=1)),
    settings_of(DataConfig(name="spiral", n_classes=2, factor=0.1), ModelConfig(hidden=(1024,) * 6)),
]


@pytest.mark.parametrize("settings", CASES, ids=lambda s: f"{s.data.name}-{s.model.kind}")
def test_encode_then_decode_gives_the_same_settings(settings: Settings) -> None:
    decoded = round_trip(settings)
    assert decoded.problems == ()
    assert decoded.settings == settings
    assert decode(encode(settings)).settings == settings  # the st.query_params path: one text per name


def test_random_valid_settings_round_trip() -> None:
    rng, checked = random.Random(0), 0
    while checked < 150:
        data = DataConfig(name=rng.choice(DATASETS), n_samples=rng.randrange(50, 5001), noise=rng.random() / 2,
                          factor=rng.uniform(0.1, 0.9), n_classes=rng.randrange(2, 4), seed=rng.randrange(10**6),
                          test_fraction=rng.choice([0.05, 0.2, 0.5]), val_fraction=rng.choice([0.0, 0.15, 0.3]),
                          label_noise=rng.choice([0.0, 0.05, 0.5]))
        model = ModelConfig(kind=rng.choice(["mlp", "logreg", "cnn"]), activation=rng.choice(list(ACTIVATIONS)),
                            hidden=tuple(rng.randrange(1, 65) for _ in range(rng.randrange(1, 4))),
                            dropout=rng.choice([0.0, 0.1, 0.25]), width=rng.randrange(4, 129),
                            features=tuple(rng.sample(list(FEATURES), rng.randrange(1, 4))),
                            head=rng.choice(["softmax", "sigmoid"]))
        train = TrainConfig(optimizer=rng.choice(OPTIMIZERS), lr=10 ** rng.uniform(-5, 1), epochs=rng.randrange(1, 300),
                            batch_size=rng.choice([0, 1, 32, 500]), schedule=rng.choice(SCHEDULES),
                            weight_decay=rng.choice([0.0, 1e-4, 0.5]), init_seed=rng.randrange(10**6),
                            loss=rng.choice(["cross_entropy", "mse"]),
                            augment=rng.choice([(), ("shift",), ("rotate15", "scale", "shift0.5")]))
        train = train if data.name in ("mnist", "digits") else replace(train, augment=())  # images only
        settings = settings_of(data, replace(model, head="softmax"), train, page=rng.choice(PAGE_NAMES))
        settings = replace(settings, model=replace(settings.model, head=model.head))  # sigmoid: 2 classes only
        if any(_invalid(c) for c in (settings.data, settings.model, settings.train)):
            continue
        # The command line's reading (no dashboard limits): seeds up to 10**6 come back as they went
        assert decode_url("?" + share_query(settings), limited=False).settings == settings
        checked += 1


def _invalid(config) -> bool:
    try:
        VALIDATORS[type(config)](config)
    except ValueError:
        return True
    return False


def test_values_equal_to_the_preset_are_left_out_and_locked_ones_written() -> None:
    assert encode(preset_settings("circles")) == {"data": "circles", "model": "mlp"}
    assert encode(preset_settings("digits", "cnn")) == {"data": "digits", "model": "cnn"}
    changed = replace(preset_settings("circles"), train=replace(preset_settings("circles").train, lr=0.1))
    assert encode(changed) == {"data": "circles", "model": "mlp", "lr": "0.1"}
    locked = encode(preset_settings("circles"), classroom=Classroom(lock=("noise", "lr")))
    assert locked["noise"] == "0.1" and locked["lr"] == "0.03" and locked["lock"] == "noise,lr"


def test_the_link_is_short_and_readable() -> None:
    settings = settings_of(DataConfig(noise=0.2), ModelConfig(hidden=(8, 8)), replace(preset_settings("circles").train,
                                                                                       lr=0.01), page="train")
    assert share_query(settings) == "data=circles&noise=0.2&model=mlp&hidden=8,8&lr=0.01&page=train"


def test_an_empty_link_gives_the_preset() -> None:
    for query in ({}, {"": ""}):
        decoded = decode(query)
        assert decoded.settings == preset_settings("circles")
    assert decode_url("http://localhost:8501/train").problems == ()


def test_a_preset_missing_for_the_model_falls_back_to_the_default_kind() -> None:
    decoded = decode({"data": "moons", "model": "cnn", "lr": "0.1"})
    assert decoded.settings.model.kind == "mlp" and decoded.settings.train.lr == 0.1
    assert any(p.startswith("model=cnn ignored") for p in decoded.problems)


def test_values_that_only_fit_together_are_all_applied(monkeypatch: pytest.MonkeyPatch) -> None:
    def lr_above_one_needs_full_batch(config: TrainConfig) -> None:
        if config.lr > 1 and config.batch_size != 0:
            raise ValueError("a learning rate above 1 needs full batch")

    monkeypatch.setitem(VALIDATORS, TrainConfig, lr_above_one_needs_full_batch)
    decoded = decode({"data": "digits", "lr": "3", "bs": "0"})  # lr is tried first, before bs=0 makes it fit
    assert (decoded.settings.train.lr, decoded.settings.train.batch_size, decoded.problems) == (3.0, 0, ())


def test_the_model_is_shaped_to_the_data() -> None:
    assert decode({"data": "blobs", "classes": "5"}).settings.model.n_classes == 5
    assert decode({"data": "digits"}).settings.model.input_shape == (1, 28, 28)


@pytest.mark.parametrize("config", [DataConfig(name=n, n_samples=200, n_classes=k)
                                    for n in POINT_DATASETS for k in (2, 3)], ids=lambda c: f"{c.name}-{c.n_classes}")
def test_data_shape_matches_the_dataset_made(config: DataConfig) -> None:
    data = make_dataset(config)
    assert data_shape(config) == (data.input_shape, data.n_classes)


def test_data_shape_of_images(digits: Dataset) -> None:
    assert data_shape(DataConfig(name="digits")) == (digits.input_shape, digits.n_classes)
    assert data_shape(DataConfig(name="mnist")) == data_shape(DataConfig(name="digits"))


# --- classroom and token ---------------------------------------------------------------------


def test_classroom_parameters_round_trip_and_unknown_names_are_reported() -> None:
    room = Classroom(hide=("opt", "share"), lock=("data", "lr"), pages=("data", "train"))
    decoded = round_trip(settings_of(DataConfig(), page="train"), room)
    assert decoded.classroom == room and decoded.problems == ()
    decoded = decode({"hide": "lr,nonsense,lr", "lock": "", "pages": "train,admin"})
    assert decoded.classroom == Classroom(hide=("lr",), pages=("train",))
    assert len(decoded.problems) == 2


def test_a_page_outside_the_links_pages_is_ignored() -> None:
    decoded = decode({"pages": "data,train", "page": "predict"})
    assert decoded.settings.page is None and "page=predict ignored" in decoded.problems[0]


def test_known_names_can_be_passed_in() -> None:
    decoded = decode({"hide": "lr,chart", "pages": "lab"}, controls=("chart",), pages=("lab",))
    assert decoded.classroom == Classroom(hide=("chart",), pages=("lab",))
    assert "lr" in CONTROLS


def test_page_names_match_the_apps_pages() -> None:
    from app_pages.common.ui import PAGES

    assert set(PAGE_NAMES) == set(PAGES)


def test_a_share_link_never_holds_the_session_token() -> None:
    token = new_token()
    settings, room = CASES[1], Classroom(hide=("lr",))
    assert encode(settings, classroom=room, token=token)[TOKEN_PARAM] == token
    query = share_query(settings, classroom=room)
    assert token not in query and TOKEN_PARAM not in dict(parse_qsl(query))
    assert decode_url("?" + query).token is None


def test_a_share_link_can_name_a_class_board_which_is_no_setting() -> None:
    """From the Board page the link names the board (board=, as its student link does); decoding it changes no
    setting and reports nothing: the Board page reads it itself."""
    settings, room = CASES[1], Classroom(lock=("lr",))
    for name, value in (("board", "B" * 22), ("lesson", "hidden-units")):  # a lesson's the same way
        query = share_query(settings, classroom=room, opens={name: value})
        assert dict(parse_qsl(query))[name] == value
        assert query.removesuffix(f"&{name}={value}") == share_query(settings, classroom=room)
        decoded = decode_url("?" + query)
        assert decoded.settings == round_trip(settings, room).settings and not decoded.problems


@pytest.mark.parametrize("name", ["key", "present", "s", "lr"])
def test_a_share_link_opens_a_board_or_a_lesson_and_nothing_else(name: str) -> None:
    with pytest.raises(ValueError, match=f"opens only board or lesson. Got {name}"):
        share_query(CASES[1], opens={name: "x"})


def test_the_session_token_is_read_back_and_a_malformed_one_dropped() -> None:
    token = new_token()
    assert decode(encode(CASES[0], token=token)).token == token
    decoded = decode({"s": "../../etc/passwd", "lr": "0.1"})
    assert decoded.token is None and decoded.settings.train.lr == 0.1 and len(decoded.problems) == 1


def test_repeated_names_use_the_last_value_and_say_so_once() -> None:
    decoded = decode({"lr": ["0.3", "0.1", "0.01"], "ep": "7"})
    assert decoded.settings.train.lr == 0.01 and decoded.settings.train.epochs == 7
    assert decoded.problems == ("lr was given 3 times; the last value was used.",)


# --- hostile links -------------------------------------------------------------------------------

HOSTILE = [
    "zzz=1",  # unknown name
    "lr=abc",  # wrong type
    "n=12.5",  # a fraction for a whole number
    "noise=0.9",  # out of range
    "lr=1e308", "lr=nan", "lr=-inf", "lr=-0.1", "wd=1_0",
    "noise=" + "9" * 10_000,  # a 10,000-character value
    "data=" + "x" * 10_000,
    "x" * 10_000 + "=1",  # a 10,000-character name
    "data=<script>alert(1)</script>",  # markup and script text
    "opt=<img src=x onerror=alert(1)>",
    "sched=$$\\frac{1}{0}$$",
    "[link](javascript:alert(1))=1",
    "hidden=8,<b>8</b>", "hidden=" + ",".join(["8"] * 100), "hidden=0,0", "hidden=99999",
    "model=cnn",  # image-only model on 2-D points
    "model=<script>alert(1)</script>", "model=$$x$$",
    "data=blobs&classes=99",
    "s=not-a-token", "s=<script>",
    "hide=everything,lr&lock=%3Cscript%3E", "pages=home,secret", "page=admin",
    "ep=3&ep=7&ep=7",  # repeated keys
    "%00%0a%0d=1", "bs=1;DROP TABLE runs", "seed=99999999999999999999",
    "feat=x,x", "subset=-5", "dseed=%F0%9F%92%A3",
    "&".join(f"k{i}=1" for i in range(100)),  # too many parameters
]


@pytest.mark.parametrize("hostile", HOSTILE, ids=lambda q: q[:30])
def test_a_hostile_link_is_reported_and_the_valid_rest_applied(hostile: str) -> None:
    decoded = decode_url("http://localhost:8501/train?ep=7&act=tanh&hidden=4,4&" + hostile)
    assert decoded.problems, hostile
    assert (decoded.settings.train.epochs, decoded.settings.model.activation) == (7, "tanh")
    assert decoded.settings.model.hidden == (4, 4) or hostile.startswith("hidden=")
    for config in (decoded.settings.data, decoded.settings.model, decoded.settings.train):
        assert not _invalid(config)
    assert len(set(decoded.problems)) == len(decoded.problems) <= MAX_PROBLEMS
    for problem in decoded.problems:
        assert len(problem) <= MAX_PROBLEM_CHARS
        assert not re.search(r"[<>$`\\\n\r\x00]", problem), problem
        assert "script>" not in problem


def test_markup_in_an_engine_message_never_reaches_the_notice(monkeypatch: pytest.MonkeyPatch) -> None:
    def shouting(config: TrainConfig) -> None:
        if config.lr != TrainConfig().lr:
            raise ValueError("<b>lr</b> $x^2$ `code` \\ *bold* {x} | # ~ &amp;\nsecond line")

    monkeypatch.setitem(VALIDATORS, TrainConfig, shouting)
    (problem,) = decode({"data": "digits", "lr": "0.1"}).problems
    assert problem == "lr=0.1 ignored: blr/b x^2 code bold x amp;second line"


@pytest.mark.parametrize("params", [{"lr": None}, {"lr": 5}, {7: "x"}, {"lr": []}, {"hidden": ("8", 8)}])
def test_odd_python_values_in_the_mapping_do_not_raise(params: dict) -> None:
    decoded = decode(params)
    assert decoded.settings.data == DataConfig()


def test_the_problem_for_a_long_value_is_short() -> None:
    (problem,) = decode({"noise": "<" * 10_000}).problems
    assert problem == "noise ignored: its value is 10,000 characters long."
    (problem,) = decode({"lr": "1" * 150}).problems
    assert problem.startswith("lr=1111") and "…" in problem and len(problem) <= MAX_PROBLEM_CHARS


def test_a_long_list_of_problems_is_cut_short() -> None:
    problems = decode({f"k{i}": "1" for i in range(30)}).problems
    assert len(problems) == MAX_PROBLEMS
    assert problems[0] == "unknown setting k0 ignored." and problems[-1] == "…and 19 more values ignored."


@pytest.mark.parametrize("tp, text, value", [(bool, "TRUE", True), (bool, "off", False), (int | None, "none", None),
                                             (int | None, "12", 12), (tuple[str, ...], "x, xy", ("x", "xy")),
                                             (tuple[int, ...], "", ()), (float, "-1.5e-3", -0.0015)])
def test_the_value_codec_reads_every_form(tp, text: str, value) -> None:
    assert parse_value(tp, text) == value
    assert parse_value(tp, format_value(tp, value)) == value


@pytest.mark.parametrize("tp, text", [(bool, "maybe"), (float, "1e999"), (float, "0x10"), (int, "1e3"),
                                      (str, "a,b"), (str, "")])
def test_the_value_codec_refuses_what_it_cannot_read(tp, text: str) -> None:
    with pytest.raises(ValueError, match="expected"):
        parse_value(tp, text)


def test_a_field_type_with_no_url_form_is_a_clear_error() -> None:
    with pytest.raises(TypeError, match="No URL form"):
        parse_value(dict, "{}")


def test_to_query_keeps_commas_readable() -> None:
    assert to_query({"hidden": "8,8", "x": "a b&c"}) == "hidden=8,8&x=a%20b%26c"


def test_locks_put_back_only_the_locked_fields_to_the_links_values() -> None:
    link = decode({"data": "moons", "noise": "0.3", "lr": "0.1", "hidden": "4"}).settings
    wandered = settings_of(replace(link.data, noise=0.05, seed=3), replace(link.model, hidden=(16,)),
                           replace(link.train, lr=1.0, epochs=7))
    fixed = apply_locks(wandered, link, ("noise", "lr", "hidden"))
    assert (fixed.data.noise, fixed.model.hidden, fixed.train.lr) == (0.3, (4,), 0.1)
    assert (fixed.data.seed, fixed.train.epochs) == (3, 7)  # not locked: the student's values stay
    assert apply_locks(wandered, link, ()) == wandered


# --- your own points in a link (pts=) ------------------------------------------------------------------------


def drawn_settings(n_per_class: int = 60, **data: object) -> Settings:
    """A drawn set of two clouds in a link's Settings."""
    rng = np.random.default_rng(5)
    X = np.concatenate([rng.normal(-1.0, 0.3, (n_per_class, 2)), rng.normal(1.0, 0.3, (n_per_class, 2))])
    config = drawn_config(as_points(X, np.repeat([0, 1], n_per_class)), ("left", "right"), DataConfig(**data))
    return settings_of(config)


def test_a_small_drawn_set_travels_in_the_link() -> None:
    settings = drawn_settings(seed=4, test_fraction=0.25)
    decoded = round_trip(settings)
    data = decoded.settings.data
    assert decoded.problems == ()
    assert (data.name, data.class_names, data.seed, data.test_fraction) == (OWN_POINTS, ("left", "right"), 4, 0.25)
    sent, got = as_arrays(settings.data.points), as_arrays(data.points)
    assert (sent[1] == got[1]).all() and np.abs(sent[0] - got[0]).max() < 1e-3
    assert decoded.settings.model.n_classes == 2 and data_shape(data) == ((2,), 2)
    assert share_query(decoded.settings) == share_query(settings)  # quantised once: the same link again


def test_a_large_drawn_set_stays_out_of_the_link() -> None:
    settings = drawn_settings(n_per_class=MAX_IN_LINK)
    params = encode(settings)
    assert params["data"] == OWN_POINTS and POINTS_PARAM not in params
    (problem,) = decode(params).problems  # a shared link without the points: the default data, and why
    assert "no points" in problem and "CSV" in problem
    assert decode(params).settings.data == DataConfig()
    assert decode({**params, TOKEN_PARAM: new_token()}).problems == ()  # a reload: the store has the points


def test_an_address_bar_never_holds_the_points_a_share_link_does() -> None:
    """With a session token (the address bar) the points stay out: a reload finds them in the store, and anyone
    else who opens the address must not get them. decode says that the address named them without them."""
    settings = drawn_settings()
    assert POINTS_PARAM in encode(settings) and POINTS_PARAM in dict(parse_qsl(share_query(settings)))
    address = encode(settings, token=new_token())
    assert address["data"] == OWN_POINTS and POINTS_PARAM not in address
    decoded = decode(address)
    assert decoded.without_points and decoded.problems == () and decoded.settings.data == DataConfig()
    assert not decode(encode(settings)).without_points and not decode(encode(CASES[0])).without_points
    (problem,) = decode_url("?" + to_query(address)).problems  # the command line: no store to find them in
    assert "address bar never holds your own points" in problem


def test_a_drawn_set_too_small_to_split_is_refused() -> None:
    params = encode(drawn_settings(n_per_class=6))
    decoded = decode(params)
    assert decoded.settings.data == DataConfig()
    assert len(decoded.problems) == 1 and "split" in decoded.problems[0]


def test_locking_the_data_also_puts_the_drawn_points_back() -> None:
    link = drawn_settings()
    wandered = settings_of(DataConfig(name="moons"))
    fixed = apply_locks(wandered, link, ("data",))
    assert fixed.data.points == link.data.points and fixed.data.class_names == ("left", "right")
    assert apply_locks(link, link, ("data",)) == link


HOSTILE_POINTS = [
    "pts=AAAA", "pts=" + "A" * (MAX_POINTS_CHARS + 1), "pts=<script>alert(1)</script>", "pts=%F0%9F%92%A3",
    "pts=" + "_" * 40, "pts=", "pts=AQJ4ADnORsCrN-k_pnwZwPI5REAB&pts=AQ", "data=csv&pts=AQIDAA",
    "data=csv&pts=" + pack_link(((0.0, 0.0, 0), (1.0, 1.0, 1)), ("a", "b")),  # valid, but too few to split
    "data=csv&pts=" + pack_link(((0.0, 0.0, 0), (1.0, 1.0, 1)), ("a", "b"))[:-3] + "___",
]


@pytest.mark.parametrize("hostile", HOSTILE_POINTS, ids=lambda q: q[:30])
def test_a_hostile_drawn_set_is_reported_plainly_and_the_rest_applied(hostile: str) -> None:
    decoded = decode_url("http://localhost:8501/?ep=7&" + hostile)
    assert decoded.problems and decoded.settings.train.epochs == 7
    assert decoded.settings.data == DataConfig()
    for problem in decoded.problems:
        assert len(problem) <= MAX_PROBLEM_CHARS and not re.search(r"[<>$`\\\n\r\x00]", problem), problem


def test_the_links_own_split_decides_whether_a_drawn_set_is_big_enough() -> None:
    settings = drawn_settings(n_per_class=30, val_fraction=0.0, test_fraction=0.25)
    decoded = decode(encode(settings))  # too few for the default splits, enough without validation
    assert decoded.problems == () and len(decoded.settings.data.points) == 60
    assert decoded.settings.data.val_fraction == 0.0


def test_a_subset_is_limited_to_the_training_images_there_are() -> None:
    """QA: subset=99999999 said "subset=1e+08 limited to 60000 images" where MNIST's 10k test split leaves 6,800
    training images. The value reads as written, and a count of the data's images limits it to those there are."""
    asked = []

    def test_split(config: DataConfig) -> int:
        asked.append(config.name)
        return 6800

    huge = decode({"data": "mnist", "subset": "99999999"}, train_images=test_split)
    assert huge.settings.data.train_size == 6800
    assert "subset=99999999 limited to 6800 images, all the training images there are." in huge.problems
    above = decode({"data": "mnist", "subset": "7000"}, train_images=test_split)  # under 60,000, above 6,800
    assert above.settings.data.train_size == 6800 and any(p.startswith("subset=7000 limited") for p in above.problems)
    fits = decode({"data": "mnist", "subset": "3000"}, train_images=test_split)
    assert fits.settings.data.train_size == 3000 and not fits.problems
    uncounted = decode({"data": "mnist", "subset": "99999999"}, train_images=lambda config: None)
    assert "subset=99999999 limited to 60000 images." in uncounted.problems, "data not loadable: the cap"
    assert "subset=99999999 limited to 60000 images." in decode({"data": "mnist", "subset": "99999999"}).problems
    assert not any("e+" in p for p in decode({"data": "mnist", "subset": "99999999"}).problems)
    decode({"data": "circles", "ep": "3"}, train_images=test_split)
    assert asked == ["mnist"] * 3, "counted only for a subset of images"
