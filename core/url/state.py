"""Settings <-> query string: a short, readable link such as `?data=circles&noise=0.1&hidden=8,8&lr=0.03`.

Pure code shared by the pages (st.query_params) and the command line (`--from-url`). Which settings travel
is derived from the config dataclasses' own fields: each field has a short name in URL_NAMES or a reason in
NEVER_IN_URL, and a test fails when a new field is in neither. `decode` never raises on what a link holds:
every value it cannot use becomes one short plain-text problem, and everything valid is applied.
Your own points (data=csv) travel in a share link's `pts=` when there are at most 200 of them (`core.url.points`),
never in an address bar that holds a session token: a reload finds them in the store, and anyone else who opens
that address must not get them. Each value's text form and the care a hostile link needs are in `core.url.text`.
"""

from __future__ import annotations

import typing
from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import dataclass, fields, replace
from functools import cache
from urllib.parse import parse_qsl, quote, urlencode

from core.config import (
    DATASETS,
    IMAGE_DATASETS,
    MODEL_KINDS,
    OWN_POINTS,
    DataConfig,
    ModelConfig,
    Settings,
    TrainConfig,
    TrainImages,
    shaped,
    validate_config,
    validate_model_config,
    validate_train_config,
    within_limits,
)
from core.training.presets import preset
from core.url.points import MAX_POINTS_CHARS, POINTS_PARAM, points_param, split_error, with_link_points
from core.url.text import (
    flatten,
    format_value,
    is_token,
    parse_value,
    pick_names,
    show,
    tidy,
)

# Short URL name of every setting that travels, per config class.
URL_NAMES: dict[type, dict[str, str]] = {
    DataConfig: {"name": "data", "n_samples": "n", "noise": "noise", "factor": "factor", "n_classes": "classes",
                 "test_fraction": "test", "val_fraction": "val", "seed": "dseed", "train_size": "subset",
                 "label_noise": "ln"},
    ModelConfig: {"kind": "model", "hidden": "hidden", "activation": "act", "dropout": "drop", "width": "width",
                  "features": "feat", "head": "head"},
    TrainConfig: {"optimizer": "opt", "lr": "lr", "momentum": "mom", "batch_size": "bs", "epochs": "ep",
                  "weight_decay": "wd", "l1": "l1", "schedule": "sched", "patience": "pat", "seed": "seed",
                  "init_seed": "init", "loss": "loss", "augment": "aug"},
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
BOARD_PARAM, KEY_PARAM, PRESENT_PARAM = "board", "key", "present"  # the Board page reads these itself
LESSON_PARAM = "lesson"  # the Lessons page reads it: ?lesson=ID opens one lesson
OWN_PARAMS = (BOARD_PARAM, KEY_PARAM, PRESENT_PARAM, LESSON_PARAM)  # kept in the URL for a page, never settings
SHARED_OWN_PARAMS = (BOARD_PARAM, LESSON_PARAM)  # those a share link may name: never a board's teacher key
PRIMARY = (URL_NAMES[DataConfig]["name"], URL_NAMES[ModelConfig]["kind"])  # always written; they pick the preset
RESERVED = (TOKEN_PARAM, PAGE_PARAM, HIDE_PARAM, LOCK_PARAM, PAGES_PARAM, POINTS_PARAM, *OWN_PARAMS)
# The pages, as in app_pages/common/ui.PAGES (tested).
PAGE_NAMES = ("home", "lessons", "data", "model", "inside", "train", "evaluate", "predict", "runs", "sweep", "board")
SETTING_NAMES = tuple(name for names in URL_NAMES.values() for name in names.values())
UI_CONTROLS = ("play", "speed", "auto", "new_weights", "sanity", "share")  # controls that are not settings
CONTROLS = SETTING_NAMES + UI_CONTROLS  # what hide= and lock= may name


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
    without_points: bool = False  # data=csv with no pts=: an address bar's, whose session (if found) has the points


Presets = Callable[[str, str], Settings]


def preset_settings(data_name: str, model_kind: str = "mlp") -> Settings:
    """The starting settings for a dataset and a kind of model (core.training.presets); ValueError if unfit."""
    data = DataConfig(name=data_name)
    chosen = preset(data_name in IMAGE_DATASETS, model_kind)
    return Settings(data, shaped(chosen.model, data), chosen.train)


@cache
def url_fields(cls: type) -> tuple[tuple[str, str, typing.Any], ...]:
    """(field, URL name, type) of each field of `cls` that travels in a link, in URL_NAMES order; worked out once
    per class (typing.get_type_hints took a tenth of a second of each page run that read a link)."""
    hints, present = typing.get_type_hints(cls), {f.name for f in fields(cls)}
    return tuple((name, key, hints[name]) for name, key in URL_NAMES[cls].items() if name in present)


# --- settings -> query ------------------------------------------------------------------


def encode(settings: Settings, *, classroom: Classroom = Classroom(), token: str | None = None,
           presets: Presets = preset_settings) -> dict[str, str]:
    """Query parameters for `settings`: values equal to the preset are left out, locked ones always written. With
    a `token` (the address bar) your own points are left out too: the session has them, and the address is no
    way to hand them to another tab."""
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
    out.update({TOKEN_PARAM: token} if token else points_param(settings.data))
    return out


def to_query(params: Mapping[str, str]) -> str:
    """`a=1&hidden=8,8`: parameters as query text (without the leading '?')."""
    return urlencode(params, safe=",", quote_via=quote)


def share_query(settings: Settings, *, classroom: Classroom = Classroom(), opens: Mapping[str, str] | None = None,
                presets: Presets = preset_settings) -> str:
    """The query text of a share link: the settings and classroom, never a session token (nor a board's teacher
    key). `opens`, a page's own parameter ({"board": id} or {"lesson": id}), lands students on that class board,
    as its student link does, or in that lesson."""
    if unknown := set(opens or {}) - set(SHARED_OWN_PARAMS):
        raise ValueError(f"a share link opens only {' or '.join(SHARED_OWN_PARAMS)}. Got {', '.join(sorted(unknown))}.")
    params = encode(settings, classroom=classroom, presets=presets)  # encode adds a token only if given
    return to_query(params | dict(opens or {}))


Locks = tuple[Settings, tuple[str, ...]]  # a link's settings and the controls (URL names) it locks


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
    """`base` with the link's own points (pts=) for data=csv; the default data when they are missing or unusable."""
    data = with_link_points(base.data, text, quiet=quiet, problems=problems)
    if data is None:
        return presets(DataConfig().name, base.model.kind)
    return base if data is base.data else replace(base, data=data, model=shaped(base.model, data))


def decode(params: Mapping[str, object], *, presets: Presets = preset_settings, pages: Sequence[str] = PAGE_NAMES,
           controls: Collection[str] = CONTROLS, limited: bool = True,
           train_images: TrainImages | None = None) -> Decoded:
    """Settings from query parameters (text, or lists of text per name); never raises on what they hold.

    Starts from the preset of the link's data and model, applies every valid value (each config's own
    validator decides), and lists each ignored value once in `problems`, as short plain text. `limited` (the
    dashboard) then keeps every value inside the dashboard's limits, hidden control or not, and says so;
    `train_images` (the dashboard's count of a dataset's training images) limits a subset to those there are.
    """
    problems: list[str] = []
    flat = {k: v for k, v in flatten(params, problems, long_values={POINTS_PARAM: MAX_POINTS_CHARS}).items()
            if k not in OWN_PARAMS}  # a page reads those
    token = flat.pop(TOKEN_PARAM, None)
    if token is not None and not is_token(token):
        problems.append(f"{TOKEN_PARAM}={show(token)} ignored: not a session token.")
        token = None
    classroom = Classroom(*(pick_names(key, flat.pop(key, ""), known, problems) for key, known in (
        (HIDE_PARAM, controls), (LOCK_PARAM, controls), (PAGES_PARAM, pages))))
    page = flat.pop(PAGE_PARAM, None)
    if page is not None and page not in (classroom.pages or pages):
        problems.append(f"{PAGE_PARAM}={show(page)} ignored: choose one of {', '.join(classroom.pages or pages)}.")
        page = None
    points = flat.pop(POINTS_PARAM, None)
    without_points = points is None and flat.get(PRIMARY[0]) == OWN_POINTS
    base = _with_points(_choose_base(flat, presets, problems), points, presets, quiet=token is not None,
                        problems=problems)
    parsed = [_parse_config(cls, flat, problems) for cls in (DataConfig, ModelConfig, TrainConfig)]
    problems += [f"unknown setting {show(key)} ignored." for key in flat]
    data = _apply(base.data, parsed[0], problems)
    if data.name == OWN_POINTS and (error := split_error(data)):  # with the link's own seed and fractions
        problems.append(f"data={OWN_POINTS} ignored: {error}")
        base = presets(DataConfig().name, base.model.kind)
        data = _apply(base.data, parsed[0], [])  # any value it refuses was reported above
    model = _apply(shaped(base.model, data), parsed[1], problems)
    train = _apply(base.train, parsed[2], problems)
    if train.augment and data.name not in IMAGE_DATASETS:  # it warps images: 2-D points have none
        problems.append(f"aug={show(format_value(tuple[str, ...], train.augment))} ignored: augmentation is for "
                        "digit images.")
        train = replace(train, augment=())
    settings = Settings(data, model, train, page)
    if limited:  # never silently: each value moved is said, as an ignored one is
        settings, notes = within_limits(settings, label=lambda cls, name: URL_NAMES[cls][name],
                                        train_images=train_images)
        problems += notes
    return Decoded(settings, classroom, token, tidy(problems), without_points)


def decode_url(url: str, **kwargs: typing.Any) -> Decoded:
    """`decode` for a whole link or its query text (the command line's --from-url). No session store stands behind
    it, so a copied address bar's data=csv without its points is reported, not quietly the default data."""
    query = url.split("?", 1)[1] if "?" in url else ("" if "://" in url else url)
    pairs = parse_qsl(query.split("#", 1)[0], keep_blank_values=True)
    grouped: dict[str, list[str]] = {}
    for key, value in pairs:
        grouped.setdefault(key, []).append(value)
    decoded = decode(grouped, **kwargs)
    if decoded.without_points and decoded.token is not None:
        address = f"data={OWN_POINTS} ignored: an address bar never holds your own points; use a share link or a CSV."
        return replace(decoded, problems=tidy([*decoded.problems, address]))
    return decoded
