"""Settings <-> query string: a short, readable link such as `?data=circles&noise=0.1&hidden=8,8&lr=0.03`.

Pure code shared by the pages (st.query_params) and the command line (`--from-url`). Which settings travel
is derived from the config dataclasses' own fields: each field has a short name in URL_NAMES or a reason in
NEVER_IN_URL, and a test fails when a new field is in neither. `decode` never raises on what a link holds:
every value it cannot use becomes one short plain-text problem, and everything valid is applied.
Your own points (data=csv) travel in `pts=` when there are at most 200 of them (core.drawn.pack_link).
"""

from __future__ import annotations

import math
import re
import typing
from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import dataclass, fields, replace
from types import NoneType, UnionType
from urllib.parse import parse_qsl, quote, urlencode

from core.data import DATASETS, IMAGE_DATASETS, OWN_POINTS, DataConfig, make_dataset, validate_config
from core.drawn import MAX_IN_LINK, DrawnError, pack_link, unpack_link
from core.models import IMAGE_SHAPE, MODEL_KINDS, POINT_SHAPE, ModelConfig, validate_model_config
from core.presets import preset
from core.store import is_token
from core.train import TrainConfig, validate_train_config

# Short URL name of every setting that travels, per config class.
URL_NAMES: dict[type, dict[str, str]] = {
    DataConfig: {"name": "data", "n_samples": "n", "noise": "noise", "factor": "factor", "n_classes": "classes",
                 "test_fraction": "test", "val_fraction": "val", "seed": "dseed", "train_size": "subset"},
    ModelConfig: {"kind": "model", "hidden": "hidden", "activation": "act", "dropout": "drop", "width": "width",
                  "features": "feat"},
    TrainConfig: {"optimizer": "opt", "lr": "lr", "momentum": "mom", "batch_size": "bs", "epochs": "ep",
                  "weight_decay": "wd", "l1": "l1", "schedule": "sched", "patience": "pat", "seed": "seed",
                  "init_seed": "init"},
}
# Fields that must never travel in a link, and why.
NEVER_IN_URL: dict[type, dict[str, str]] = {
    DataConfig: {"data_dir": "a folder on the server", "download": "whether the server may use the network",
                 "points": "your own points: packed into pts= when small", "class_names": "packed with the points"},
    ModelConfig: {"input_shape": "follows from the data", "n_classes": "follows from the data"},
    TrainConfig: {},
}
VALIDATORS: dict[type, Callable[[typing.Any], None]] = {
    DataConfig: validate_config, ModelConfig: validate_model_config, TrainConfig: validate_train_config}
TOKEN_PARAM = "s"  # the session token: in the address bar, never in a share link
PAGE_PARAM, HIDE_PARAM, LOCK_PARAM, PAGES_PARAM = "page", "hide", "lock", "pages"
POINTS_PARAM = "pts"  # your own points, packed (core.drawn.pack_link)
BOARD_PARAM, KEY_PARAM, PRESENT_PARAM = "board", "key", "present"  # the Board page reads these itself
OWN_PARAMS = (BOARD_PARAM, KEY_PARAM, PRESENT_PARAM)  # kept in the URL for a page, never settings
PRIMARY = (URL_NAMES[DataConfig]["name"], URL_NAMES[ModelConfig]["kind"])  # always written; they pick the preset
RESERVED = (TOKEN_PARAM, PAGE_PARAM, HIDE_PARAM, LOCK_PARAM, PAGES_PARAM, POINTS_PARAM, *OWN_PARAMS)
# The pages, as in pages/common/ui.PAGES (tested).
PAGE_NAMES = ("home", "data", "model", "inside", "train", "evaluate", "predict", "runs", "sweep", "board")
SETTING_NAMES = tuple(name for names in URL_NAMES.values() for name in names.values())
UI_CONTROLS = ("play", "speed", "auto", "new_weights", "sanity", "share")  # controls that are not settings
CONTROLS = SETTING_NAMES + UI_CONTROLS  # what hide= and lock= may name
MAX_PARAMS, MAX_VALUE_CHARS, MAX_ITEMS = 64, 200, 16
MAX_POINTS_CHARS = 2400  # pts=: 200 points and six long class names fit in about 1,600
SHOWN_CHARS, MAX_PROBLEM_CHARS, MAX_PROBLEMS = 40, 160, 12
_SCALARS: dict[type, tuple[re.Pattern[str], Callable[[str], typing.Any], str]] = {  # pattern, convert, expected
    int: (re.compile(r"[+-]?\d{1,9}"), int, "a whole number such as 8"),
    float: (re.compile(r"[+-]?(\d{1,20}\.?\d{0,20}|\.\d{1,20})([eE][+-]?\d{1,3})?"), float, "a number such as 0.03"),
    str: (re.compile(r"[A-Za-z0-9_.-]{1,32}"), str, "a name of letters, digits, _ . or -"),
    bool: (re.compile(r"true|false|yes|no|on|off|1|0", re.I), lambda t: t.lower() in ("true", "yes", "on", "1"),
           "true or false"),
}
_UNSAFE = re.compile(r"[^A-Za-z0-9 .,:;=+_'()/%-]")  # user text: anything else is shown as '?'
_MARKUP = re.compile(r"[<>$`\\*{}|#~&\x00-\x1f\x7f-\x9f]")  # never in a problem message


@dataclass(frozen=True)
class Settings:
    """Everything a link reproduces: the data, the model, the training settings and the page."""

    data: DataConfig = DataConfig()
    model: ModelConfig = ModelConfig()
    train: TrainConfig = TrainConfig()
    page: str | None = None


@dataclass(frozen=True)
class Classroom:
    """A teacher's link: controls hidden or locked (by URL name), and the pages shown (empty: all)."""

    hide: tuple[str, ...] = ()
    lock: tuple[str, ...] = ()
    pages: tuple[str, ...] = ()


@dataclass(frozen=True)
class Decoded:
    """What a query string asked for: the settings, the classroom, the session token and what was ignored."""

    settings: Settings
    classroom: Classroom = Classroom()
    token: str | None = None
    problems: tuple[str, ...] = ()


Presets = Callable[[str, str], Settings]


def data_shape(config: DataConfig) -> tuple[tuple[int, ...], int]:
    """(input_shape, n_classes) of the dataset `config` makes, without making it."""
    if config.name in IMAGE_DATASETS:
        return IMAGE_SHAPE, 10
    if config.name == OWN_POINTS:
        return POINT_SHAPE, len(config.class_names) or 2
    return POINT_SHAPE, config.n_classes if config.name in ("blobs", "spiral") else 2


def shaped(model: ModelConfig, data: DataConfig) -> ModelConfig:
    """`model` fitted to the inputs and classes of `data`."""
    input_shape, n_classes = data_shape(data)
    return replace(model, input_shape=input_shape, n_classes=n_classes)


def preset_settings(data_name: str, model_kind: str = "mlp") -> Settings:
    """The starting settings for a dataset and a kind of model (core.presets); ValueError if they do not fit."""
    data = DataConfig(name=data_name)
    chosen = preset(data_name in IMAGE_DATASETS, model_kind)
    return Settings(data, shaped(chosen.model, data), chosen.train)


def url_fields(cls: type) -> list[tuple[str, str, typing.Any]]:
    """(field, URL name, type) of each field of `cls` that travels in a link, in URL_NAMES order."""
    hints, present = typing.get_type_hints(cls), {f.name for f in fields(cls)}
    return [(name, key, hints[name]) for name, key in URL_NAMES[cls].items() if name in present]


# --- values <-> text --------------------------------------------------------------------


def format_value(tp: typing.Any, value: typing.Any) -> str:
    """A field's value as URL text: 0.03, 8,8, none, true."""
    if value is None:
        return "none"
    if typing.get_origin(tp) in (UnionType, typing.Union):
        return format_value(next(a for a in typing.get_args(tp) if a is not NoneType), value)
    if typing.get_origin(tp) is tuple:
        return ",".join(format_value(typing.get_args(tp)[0], v) for v in value)
    if tp is bool:
        return "true" if value else "false"
    if tp is float:
        text = repr(float(value))  # the shortest text that reads back as the same float
        return text[:-2] if text.endswith(".0") else text
    return str(value)


def parse_value(tp: typing.Any, text: str) -> typing.Any:
    """URL text -> a value of type `tp`; ValueError saying what was expected."""
    args = typing.get_args(tp)
    if typing.get_origin(tp) in (UnionType, typing.Union):
        inner = next(a for a in args if a is not NoneType)
        return None if text.lower() in ("", "none") else parse_value(inner, text)
    if typing.get_origin(tp) is tuple:
        parts = [p.strip() for p in text.split(",")] if text.strip() else []
        if len(parts) > MAX_ITEMS:
            raise ValueError(f"at most {MAX_ITEMS} comma-separated values")
        return tuple(parse_value(args[0], p) for p in parts)
    if tp not in _SCALARS:
        raise TypeError(f"No URL form for {tp}; add one to core.urlstate._SCALARS.")
    pattern, convert, expected = _SCALARS[tp]
    if pattern.fullmatch(text):
        value = convert(text)
        if not (tp is float and not math.isfinite(value)):  # 1e999 reads as inf
            return value
    raise ValueError(f"expected {expected}")


def show(text: str, limit: int = SHOWN_CHARS) -> str:
    """User text made safe to show in a message: odd characters become '?', long text is shortened."""
    clean = _UNSAFE.sub("?", str(text))
    return clean if len(clean) <= limit else clean[: limit - 1] + "…"


def _tidy(problems: list[str]) -> tuple[str, ...]:
    """Each problem once, as one line of plain text with no markup characters; a long list is cut short."""
    lines = (" ".join(_MARKUP.sub("", text).split()) for text in problems)
    unique = tuple(dict.fromkeys(t if len(t) <= MAX_PROBLEM_CHARS else t[: MAX_PROBLEM_CHARS - 1] + "…" for t in lines))
    if len(unique) <= MAX_PROBLEMS:
        return unique
    return unique[: MAX_PROBLEMS - 1] + (f"…and {len(unique) - MAX_PROBLEMS + 1} more values ignored.",)


# --- settings -> query ------------------------------------------------------------------


def encode(settings: Settings, *, classroom: Classroom = Classroom(), token: str | None = None,
           presets: Presets = preset_settings) -> dict[str, str]:
    """Query parameters for `settings`: values equal to the preset are left out, locked ones always written."""
    try:
        base = presets(settings.data.name, settings.model.kind)
    except ValueError:  # a combination with no preset: write every value that differs from the defaults
        base = Settings()
    locked = set(classroom.lock)
    out = {}
    for config, base_config in ((settings.data, base.data), (settings.model, base.model),
                                (settings.train, base.train)):
        for name, key, tp in url_fields(type(config)):
            value = getattr(config, name)
            if key in PRIMARY or key in locked or value != getattr(base_config, name):
                out[key] = format_value(tp, value)
    extras = {PAGE_PARAM: settings.page or "", HIDE_PARAM: ",".join(classroom.hide),
              LOCK_PARAM: ",".join(classroom.lock), PAGES_PARAM: ",".join(classroom.pages)}
    out.update({k: v for k, v in extras.items() if v})
    if settings.data.name == OWN_POINTS and 0 < len(settings.data.points) <= MAX_IN_LINK:
        out[POINTS_PARAM] = pack_link(settings.data.points, settings.data.class_names)
    if token:
        out[TOKEN_PARAM] = token
    return out


def to_query(params: Mapping[str, str]) -> str:
    """`a=1&hidden=8,8`: parameters as query text (without the leading '?')."""
    return urlencode(params, safe=",", quote_via=quote)


def share_query(settings: Settings, *, classroom: Classroom = Classroom(), presets: Presets = preset_settings) -> str:
    """The query text of a share link: the settings and classroom only, never a session token."""
    return to_query(encode(settings, classroom=classroom, presets=presets))  # encode adds a token only if given


def apply_locks(settings: Settings, link: Settings, locked: Collection[str]) -> Settings:
    """`settings` with every field whose URL name is in `locked` set back to its value in `link`."""
    configs = []
    for config, fixed in ((settings.data, link.data), (settings.model, link.model), (settings.train, link.train)):
        changes = {name: getattr(fixed, name) for name, key, _ in url_fields(type(config))
                   if key in locked and getattr(config, name) != getattr(fixed, name)}
        if fixed is link.data and PRIMARY[0] in locked and (config.name, config.points) != (fixed.name, fixed.points):
            changes.update(points=fixed.points, class_names=fixed.class_names)  # your own points go with data=
        configs.append(replace(config, **changes) if changes else config)
    return Settings(*configs, page=settings.page)


# --- query -> settings ------------------------------------------------------------------


def _flatten(params: Mapping[str, object], problems: list[str]) -> dict[str, str]:
    """One text value per name (the last, as st.query_params gives), noting repeats, excess and long values."""
    flat: dict[str, str] = {}
    for i, (key, raw) in enumerate(params.items()):
        if i == MAX_PARAMS:
            problems.append(f"{len(params) - MAX_PARAMS} more parameters ignored: a link holds at most {MAX_PARAMS}.")
            break
        values = [raw] if isinstance(raw, str) or not isinstance(raw, Sequence) else list(raw)
        if not values:
            continue
        key, text = str(key), str(values[-1])
        if len(values) > 1:
            problems.append(f"{show(key)} was given {len(values)} times; the last value was used.")
        if len(text) > (MAX_POINTS_CHARS if key == POINTS_PARAM else MAX_VALUE_CHARS):
            problems.append(f"{show(key)} ignored: its value is {len(text):,} characters long.")
            continue
        flat[key] = text
    return flat


def _parse_config(cls: type, flat: dict[str, str], problems: list[str]) -> dict[str, tuple[str, typing.Any]]:
    """field -> (URL name, parsed value) for the fields of `cls` present in `flat` (popped from it)."""
    parsed = {}
    for name, key, tp in url_fields(cls):
        if key in PRIMARY or key not in flat:  # data= and model= chose the preset already
            continue
        text = flat.pop(key)
        try:
            parsed[name] = (key, parse_value(tp, text))
        except ValueError as exc:
            problems.append(f"{key}={show(text)} ignored: {exc}.")
    return parsed


def _error(config: typing.Any) -> str | None:
    """The config's own validator's complaint, or None when it is valid."""
    try:
        VALIDATORS[type(config)](config)
    except (ValueError, TypeError) as exc:
        return str(exc)
    return None


def _apply(config: typing.Any, parsed: dict[str, tuple[str, typing.Any]], problems: list[str]) -> typing.Any:
    """Apply every value that keeps `config` valid; repeat while any applies, since one can enable another."""
    pending, progress = dict(parsed), True
    while pending and progress:
        progress = False
        for name, (_, value) in list(pending.items()):
            candidate = replace(config, **{name: value})
            if _error(candidate) is None:
                config, progress = candidate, True
                del pending[name]
    for name, (key, value) in pending.items():
        shown = show(format_value(typing.get_type_hints(type(config))[name], value))
        problems.append(f"{key}={shown} ignored: {_error(replace(config, **{name: value}))}")
    return config


def _choose_base(flat: dict[str, str], presets: Presets, problems: list[str]) -> Settings:
    """The preset for the link's data= and model= (each falling back to the default when unusable)."""
    name, kind = DataConfig().name, ModelConfig().kind
    data_key, model_key = PRIMARY
    wanted = flat.pop(data_key, name)
    if wanted in DATASETS or wanted == OWN_POINTS:
        name = wanted
    else:
        problems.append(f"{data_key}={show(wanted)} ignored: choose one of {', '.join(DATASETS)}.")
    wanted = flat.pop(model_key, kind)
    try:
        if wanted not in MODEL_KINDS:
            raise ValueError(f"choose one of {', '.join(MODEL_KINDS)}.")
        return presets(name, wanted)
    except ValueError as exc:
        problems.append(f"{model_key}={show(wanted)} ignored: {exc}")
    return presets(name, kind)


def _with_points(base: Settings, text: str | None, presets: Presets, *, quiet: bool,
                 problems: list[str]) -> Settings:
    """`base` with the link's own points (pts=) for data=csv; the default data when they are missing or unusable.

    A reload's link (it holds a session token) may leave out a large set: the session store has it.
    """
    if base.data.name != OWN_POINTS:
        if text is not None:
            problems.append(f"{POINTS_PARAM} ignored: points go with data={OWN_POINTS}.")
        return base
    try:
        if text is None:
            raise DrawnError(f"the link holds no points (sets of more than {MAX_IN_LINK} travel as a CSV file).")
        points, names = unpack_link(text)
    except DrawnError as exc:
        if text is not None or not quiet:
            problems.append(f"data={OWN_POINTS} ignored: {exc}")
        return presets(DataConfig().name, base.model.kind)
    data = replace(base.data, points=points, class_names=names)
    return replace(base, data=data, model=shaped(base.model, data))


def _split_error(data: DataConfig) -> str | None:
    """Why your own points cannot be split into train, validation and test (too few of a class), or None."""
    try:
        make_dataset(data)
    except ValueError as exc:
        return str(exc)
    return None


def _names(key: str, text: str, known: Collection[str], problems: list[str]) -> tuple[str, ...]:
    """A comma list of known names (each once); unknown ones become problems."""
    chosen: list[str] = []
    for part in (p.strip() for p in text.split(",")[:MAX_ITEMS]):
        if part in known and part not in chosen:
            chosen.append(part)
        elif part and part not in known:
            problems.append(f"{key}: unknown name {show(part)} ignored.")
    return tuple(chosen)


def decode(params: Mapping[str, object], *, presets: Presets = preset_settings, pages: Sequence[str] = PAGE_NAMES,
           controls: Collection[str] = CONTROLS) -> Decoded:
    """Settings from query parameters (text, or lists of text per name); never raises on what they hold.

    Starts from the preset of the link's data and model, applies every valid value (each config's own
    validator decides), and lists each ignored value once in `problems`, as short plain text.
    """
    problems: list[str] = []
    flat = {k: v for k, v in _flatten(params, problems).items() if k not in OWN_PARAMS}  # a page reads those
    token = flat.pop(TOKEN_PARAM, None)
    if token is not None and not is_token(token):
        problems.append(f"{TOKEN_PARAM}={show(token)} ignored: not a session token.")
        token = None
    classroom = Classroom(*(_names(key, flat.pop(key, ""), known, problems) for key, known in (
        (HIDE_PARAM, controls), (LOCK_PARAM, controls), (PAGES_PARAM, pages))))
    page = flat.pop(PAGE_PARAM, None)
    if page is not None and page not in (classroom.pages or pages):
        problems.append(f"{PAGE_PARAM}={show(page)} ignored: choose one of {', '.join(classroom.pages or pages)}.")
        page = None
    base = _with_points(_choose_base(flat, presets, problems), flat.pop(POINTS_PARAM, None), presets,
                        quiet=token is not None, problems=problems)
    parsed = [_parse_config(cls, flat, problems) for cls in (DataConfig, ModelConfig, TrainConfig)]
    problems += [f"unknown setting {show(key)} ignored." for key in flat]
    data = _apply(base.data, parsed[0], problems)
    if data.name == OWN_POINTS and (error := _split_error(data)):  # with the link's own seed and fractions
        problems.append(f"data={OWN_POINTS} ignored: {error}")
        base = presets(DataConfig().name, base.model.kind)
        data = _apply(base.data, parsed[0], [])  # any value it refuses was reported above
    model = _apply(shaped(base.model, data), parsed[1], problems)
    train = _apply(base.train, parsed[2], problems)
    return Decoded(Settings(data, model, train, page), classroom, token, _tidy(problems))


def decode_url(url: str, **kwargs: typing.Any) -> Decoded:
    """`decode` for a whole link or its query text (the command line's --from-url)."""
    query = url.split("?", 1)[1] if "?" in url else ("" if "://" in url else url)
    pairs = parse_qsl(query.split("#", 1)[0], keep_blank_values=True)
    grouped: dict[str, list[str]] = {}
    for key, value in pairs:
        grouped.setdefault(key, []).append(value)
    return decode(grouped, **kwargs)
