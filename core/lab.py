"""One user's workspace: dataset, model, training job and results, with no UI code in it.

The dashboard keeps one `Lab` per browser session (in st.session_state); the pages read
widgets, call these methods and draw what they return. Tests drive it directly.
"""

from __future__ import annotations

import hashlib
import logging
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, field, replace

import numpy as np
from torch import nn

from core.boundary import BoundaryGrid, Snapshot, boundary_grid, grid_box
from core.checkpoint import LoadedModel, load_model, save_model
from core.config import DASHBOARD_LIMITS, DataConfig, ModelConfig, RunOptions, Settings, TrainConfig, reshaped
from core.data.dataset import Dataset
from core.data.handwriting import Handwriting, PadDrawing
from core.data.images import PreparedImage, prepare_image
from core.data.make import make_dataset
from core.data.pixels import to_pixels
from core.evaluate import LogitChain, Metrics, evaluate_model, logit_chain
from core.history.writer import EndedRun
from core.insight.cache import InsightCache
from core.models import build_model, output_logits, predict_proba
from core.sweep.grid import Axis
from core.sweep.job import SweepJob
from core.sweep.seeds import SeedSpreadJob
from core.training.budget import Budget, RunCost, estimate
from core.training.coach import Advice, advise
from core.training.jobs import INLINE_LANE, JobProgress, TrainingJob
from core.training.losses import loss_label
from core.training.presets import default_model_config, default_train_config, describe, preset, retarget
from core.training.reference import usual_lr
from core.training.result import TrainResult
from core.training.shared_runs import SHARED_RUNS, load_weights, run_key
from core.training.train import overfit_one_batch, train_model
from core.training.verdict import Score, Verdict, compare, score
from core.url.state import Locks, apply_locks

TRAIN_WHEN = ("never", "auto", "always")  # Lab.apply's `train`
MAX_PREPARED = 32  # prepared uploads kept per session (a page shows at most MAX_IMAGES at once)
MAX_IMAGES = 24  # images predicted per page run; more are named, not prepared
KIND_NAMES = {"logreg": "logistic regression", "mlp": "MLP", "cnn": "CNN", "lenet": "LeNet-5"}
AUTO_MIN_EPOCHS = 100  # auto-train runs a 2-D network only when this many epochs (or its whole ceiling) fit inline
SNAPSHOT_RESOLUTION = 40  # cells a side: sent once per frame, so kept small
log = logging.getLogger(__name__)


def _share(key: tuple | None, progress: JobProgress, model: nn.Module) -> None:
    """Offer a finished inline run to the server's other sessions; the run stays this session's whatever happens."""
    try:
        SHARED_RUNS.put(key, progress.result, model)
    except Exception:  # a run that could not be kept is trained again by the next session that asks: no harm
        log.exception("A finished run could not be kept for sharing")


class LabError(ValueError):
    """An action that needs something the lab does not have yet; the message says what to do."""


@dataclass(frozen=True, eq=False)
class Evaluation:
    """Metrics on every split of the data the current model was trained on; test is the final, unseen one."""

    train: Metrics
    validation: Metrics | None  # None when the data has no validation split
    test: Metrics
    train_true: Metrics | None = None  # label noise: the training points scored against their true labels


@dataclass(eq=False)
class Lab:
    """Mutable per-session state. Everything it hands out is read-only data."""

    data_config: DataConfig | None = None
    data: Dataset | None = None
    model_config: ModelConfig | None = None
    train_config: TrainConfig | None = None
    model: nn.Module | None = None
    result: TrainResult | None = None
    job: TrainingJob | None = None
    threads: int | None = None  # torch threads for this lab's runs (the dashboard caps them); None: leave as is
    device: str = "auto"  # RunOptions.device of this lab's runs: auto, cpu or cuda
    default_data: bool = False  # the data is the untouched default of a new session
    on_run_end: Callable[[EndedRun], None] | None = None  # told once about every run that ends (the run history)
    from_file: bool = False  # the current model was uploaded, not trained here (it cannot go on a class board)
    sweep: SweepJob | None = None  # the last sweep, running or done: kept with the lab, so a reload finds it
    sweep_draft: tuple[Axis, ...] = ()  # the Sweep page's last picks, run or not: the pickers start from them
    seeds: SeedSpreadJob | None = None  # the last seed spread (Sweep page), running or done: kept as the sweep is
    handwriting: Handwriting = field(default_factory=Handwriting)  # the digits the user drew and kept (bounded)
    pad: PadDrawing | None = None  # the Predict pad's drawing: a reload draws it again and shows its prediction
    board_id: str | None = None  # the class board this session looks at (never its teacher key)
    teacher_of: str | None = None  # the board this tab was last seen to be the teacher of (told when it stops)
    lesson: str | None = None  # the guided lesson open in this session (core.lessons), by id
    lessons_done: frozenset[str] = frozenset()  # the lessons whose check this session's runs have passed
    watching: bool = False  # the Train page shows the run's replay ("Watch it learn"), across pages and reloads
    loader: Callable[[DataConfig], Dataset] = make_dataset  # the dashboard passes its shared, cached loader
    budget: Budget = field(default_factory=Budget.from_env)  # the server's limits on one run
    share_runs: bool = True  # a slider move's run is shared with the server's sessions (core.training.shared_runs)
    shared_run: bool = False  # the current result was trained before on this server and handed over, not trained
    insight: InsightCache = field(default_factory=InsightCache)  # the Inside views' values for the current model
    _prepared: OrderedDict[str, PreparedImage] = field(default_factory=OrderedDict)  # uploads by digest (bounded)
    _evaluation: Evaluation | None = None
    _started: tuple[Settings, str] | None = None  # the last run's settings and origin ("train" or "auto")
    # on_run_end has been told of the current job's end (a flag, not the final progress: that holds the run's
    # history again, which the session store would walk at every page run when it weighs the Lab)
    _told: bool = False
    _loaded_names: tuple[str, ...] = ()
    _scores: tuple[tuple[DataConfig, Score | None], ...] = ()  # the last two runs' validation scores, for the coach
    _coaching: tuple[TrainResult, Locks | None, tuple[Advice | None, Verdict | None]] | None = None  # per result

    def __getstate__(self) -> dict:
        """Copies and pickles leave out the hooks (the run history, the loader): the session sets its own."""
        return {**self.__dict__, "on_run_end": None, "loader": make_dataset}

    # --- data and model ------------------------------------------------------------------

    @property
    def settings(self) -> Settings | None:
        """The current data, model and training settings (None while one is missing, e.g. after a model upload)."""
        if self.data_config is None or self.model_config is None or self.train_config is None:
            return None
        return Settings(self.data_config, self.model_config, self.train_config)

    @property
    def needs_retrain(self) -> bool:
        """True when the settings differ from those of the last run, or nothing was trained with them since
        (there has been no run, or its model was dropped with the data)."""
        settings = self.settings
        if settings is None or self.training:
            return False
        return self._started is None or self._started[0] != settings or (self.result is None and self.model is None)

    def apply(self, settings: Settings, *, train: str = "never") -> str | None:
        """Make `settings` current: new data is loaded (raises ValueError before changing anything when it cannot
        be), a new architecture forgets the model, the training settings are kept for the next run.

        `train`: "never"; "auto", a 2-D run trains (up to what fits the inline budget) when the settings differ from
        the last run's; or "always", a run starts now as the Train button starts one.

        Training settings that differ from the current ones (a link, a run reopened, a lesson) are used as given. When
        they are the current ones carried over and a new kind of model is chosen (the Model page), those still at the
        old kind's preset move to the new kind's, and a line saying so is returned.
        """
        if train not in TRAIN_WHEN:
            raise ValueError(f"train must be one of {', '.join(TRAIN_WHEN)}. Got {train!r} instead.")
        carried = settings.train == self.train_config
        if settings.data != self.data_config or self.data is None:
            self.set_data(settings.data, self.loader(settings.data), default=settings.data == DataConfig())
        notice = self.set_model_config(settings.model)
        if notice is None or not carried:
            self.train_config, notice = settings.train, None
        if train == "always" or (train == "auto" and self.needs_retrain and self.runs_inline(self.train_config)):
            self.train(auto=train == "auto")
        return notice


    def set_data(self, config: DataConfig, data: Dataset, *, default: bool = False) -> None:
        """Use `data`; a model that cannot take it is dropped, the architecture choices kept.

        `default` marks the data every new session starts with: until the user picks data, an uploaded
        model of another kind replaces it instead of being refused.
        """
        self.default_data = default
        if self.training:
            self.stop()
        changed_shape = self.data is None or (data.input_shape, data.n_classes) != (
            self.data.input_shape, self.data.n_classes)
        kind_changed = self.data is None or data.is_image != self.data.is_image
        # A model uploaded before any dataset was picked stays if this data fits it (same inputs and classes).
        keep = self.data is None and self.model is not None and (data.input_shape, data.n_classes) == (
            tuple(self.model_config.input_shape), self.model_config.n_classes)
        self.data_config, self.data = config, data
        if keep:
            self.train_config = self.train_config or default_train_config(data, self.model_config.kind)
            self._evaluation = None
            return
        if kind_changed or self.model_config is None:
            self.model_config, self.train_config = default_model_config(data), default_train_config(data)
        elif changed_shape:
            self.model_config = reshaped(self.model_config, data.input_shape, data.n_classes)
        self.forget_model()

    def set_model_config(self, config: ModelConfig) -> str | None:
        """Choose an architecture (shaped to the current data); forgets a model of another shape.

        A new kind of model moves the training settings still at the old kind's preset to the new kind's,
        and says so in one line (returned); settings the user chose stay.
        """
        data = self.require_data()
        config = replace(config, input_shape=data.input_shape, n_classes=data.n_classes)
        if config == self.model_config:
            return None
        old_kind = self.model_config.kind if self.model_config else config.kind
        self.model_config = config
        self.forget_model()
        if old_kind == config.kind or self.train_config is None:
            return None
        new = preset(data.is_image, config.kind).train
        self.train_config, moved = retarget(self.train_config, preset(data.is_image, old_kind).train, new)
        if not moved:
            return None
        return f"Training settings set for the {KIND_NAMES.get(config.kind, config.kind)}: {describe(new)}."

    def forget_model(self) -> None:
        """Drop the trained model and its results (not the data or the settings); a run still going is stopped, so
        it does not keep a job slot for a model nobody will see."""
        if self.job is not None:
            self.job.stop()
        self.model, self.result, self.job, self._evaluation, self._told = None, None, None, None, False
        self.from_file, self._coaching = False, None  # the coach's word held the dropped run's result alive
        self.shared_run = False

    @property
    def class_names(self) -> tuple[str, ...]:
        """Names of the classes the current model predicts."""
        if self.data is not None:
            return self.data.class_names
        return self._loaded_names or tuple(str(i) for i in range(self.model_config.n_classes))

    def require_data(self) -> Dataset:
        if self.data is None:
            raise LabError("No dataset yet: pick one on the Data page.")
        return self.data

    def require_model(self) -> nn.Module:
        if self.model is None:
            raise LabError("No trained model yet: train one on the Train page (or upload one on Predict).")
        return self.model

    # --- training ------------------------------------------------------------------------

    @property
    def training(self) -> bool:
        return self.job is not None and not self.job.progress().done

    def _job(self, train_config: TrainConfig, *, auto: bool, inline: bool) -> TrainingJob:
        """A job that trains a fresh model (starting weights from `init_seed`) with this lab's run options."""
        data = self.require_data()
        self.train_config = train_config
        self.model, self.result, self._evaluation, self._told, self.from_file = None, None, None, False, False
        self.shared_run = False
        self._started = (Settings(self.data_config, self.model_config, train_config), "auto" if auto else "train")
        options = RunOptions(threads=self.threads, reference_lr=usual_lr(self.model_config, train_config),
                             device=self.device)
        every = 0 if data.is_image else 1  # every epoch, thinned evenly past MAX_STATES (core.training.recorder)
        model = build_model(self.model_config, seed=train_config.init_seed)
        kw = {"slots": None} if inline else {}
        run_config = self.auto_config(train_config) if auto else train_config
        return TrainingJob(model, data, run_config, options, snapshot_every=every,
                           snapshot_resolution=SNAPSHOT_RESOLUTION, **kw)

    def cost(self, train_config: TrainConfig | None = None) -> RunCost:
        """The estimated cost of a run with `train_config` (by default the current one) on the current data."""
        data = self.require_data()
        n_val = len(data.y_val) if data.has_validation else 0
        return estimate(self.model_config, train_config or self.train_config, len(data.y_train), n_val)

    def auto_config(self, train_config: TrainConfig) -> TrainConfig:
        """`train_config` with its epoch ceiling lowered to what fits the inline budget: a slider move's run."""
        per_epoch = self.cost(replace(train_config, epochs=1)).seconds
        return replace(train_config, epochs=max(1, min(train_config.epochs, int(self.budget.inline_s / per_epoch))))

    def runs_inline(self, train_config: TrainConfig) -> bool:
        """True for a 2-D run that auto-train may start: at least AUTO_MIN_EPOCHS of it (or its whole ceiling) fit
        the inline budget, to be trained in the page's own thread up to what fits."""
        if self.require_data().is_image:
            return False
        return self.auto_config(train_config).epochs >= min(train_config.epochs, AUTO_MIN_EPOCHS)

    def train(self, train_config: TrainConfig | None = None, *, auto: bool = False,
              wait: bool = False) -> TrainResult | None:
        """Train a fresh model with `train_config` (by default the current one); a running job is stopped first.

        A short 2-D run trains in this thread; a longer one on a worker in the server's job slots (poll with
        `poll()`), or in this thread when `wait`. Returns the result when the run ended within the call, else None.
        Every run ends by the stopping rule (core.training.stopping) at the latest at its epoch ceiling; `auto` (a
        slider moved) lowers the ceiling to what fits the inline budget. Raises LabError when the run failed.
        """
        config = train_config or self.train_config or TrainConfig()
        self.budget.check(self.cost(config), config)  # over the server's per-run ceiling: refused before anything
        if self.training:
            self.stop()
        cost = self.cost(self.auto_config(config) if auto else config)  # a slider move trains what fits inline
        inline = not self.data.is_image and self.budget.band(cost) == "inline"
        job = self.job = self._job(config, auto=auto, inline=inline)
        job.time_limit = self.budget.time_limit(cost)
        if not (inline or wait):
            job.start()
            return None
        if inline:  # the run itself, right here: the page's thread trains (a few tens of ms), one page at a time
            progress = self._train_inline(job)
        else:
            progress = job.run()
        if self.job is not job:
            # The Lab moved on while this run trained: under load Streamlit can start a session's next script run
            # while the last one is still in here, and that run chose other data or started another job. Its job
            # stays; this run's result is not adopted (CI, 5 December 2026: a queued MNIST run vanished).
            return None
        self.poll()  # adopts the model and tells the run history, whether the run trained or failed
        self.job = None  # the job holds locks and threads: a finished one is not kept (nor copied with the lab)
        if progress.state == "failed":
            raise LabError(f"Training failed: {progress.error}")
        return self.result

    def _train_inline(self, job: TrainingJob) -> JobProgress:
        """Train `job` in this thread, in the inline lane; or adopt the same run, when this server's sessions have
        trained it before (core.training.shared_runs), also while this one waited for the lane."""
        try:
            key = run_key(self.data_config, job.data, self.model_config, job.config, job.options,
                          (job.snapshot_every, job.snapshot_resolution)) if self.share_runs else None
            shared = SHARED_RUNS.get(key, miss_counted=False)
            if shared is None:
                with INLINE_LANE:
                    shared = SHARED_RUNS.get(key)
                    if shared is None:
                        progress = job.finish(train_model(job.model, job.data, job.config, job.options,
                                                          **job.begin()))
                        _share(key, progress, job.model)
                        return progress
            load_weights(job.model, shared)
            return job.adopt(shared.result, shared.frames)
        except Exception as exc:  # as a worker would, the job ends in a state the page can explain
            return job.finish(error=exc)

    def poll(self) -> JobProgress | None:
        """The running or last job's progress; a finished job's model becomes the lab's model."""
        if self.job is None:
            return None
        progress = self.job.progress()
        if progress.done and progress.result is not None and self.result is not progress.result:
            self.result, self.shared_run = progress.result, progress.shared
            trained = progress.history and not progress.result.diverged
            self.model = self.job.model if trained else None
            n_val = len(self.job.data.y_val) if self.job.data.has_validation else 0
            self._scores = (*self._scores[-1:], (self.data_config, score(progress.result, n_val)))
        if progress.done and not self._told:
            self._told = True
            if self.on_run_end is not None and self._started is not None:
                settings, origin = self._started
                self.on_run_end(EndedRun(settings, origin, self.job.data, progress.result, self.model))
        return progress

    def coach(self, locks: Locks | None = None) -> tuple[Advice | None, Verdict | None]:
        """The coach on the current run (core.training.coach): one diagnosis with the settings that fix it (trained
        only if the page applies them), and how this run compares with the one before on the same data. `locks`:
        the link's settings and the controls it locks; a fix that would change a locked one is not offered."""
        if self.result is None or self.from_file or self._started is None or self.training:
            return None, None
        if self._coaching is None or self._coaching[0] is not self.result or self._coaching[1] != locks:
            data = self.require_data()
            settings = self._started[0]
            applies = None if locks is None else (lambda fix: apply_locks(fix, *locks) == fix)
            usual = usual_lr(settings.model, settings.train)
            advice = advise(settings, self.result, self.model, data.X_train, reference_lr=usual, applies=applies)
            (before_data, before), (after_data, after) = ((None, None), *self._scores)[-2:]
            verdict = compare(before, after) if before and after and before_data == after_data else None
            self._coaching = (self.result, locks, (advice, verdict))
        return self._coaching[2]

    @property
    def trained_settings(self) -> Settings | None:
        """The settings the current model was trained with here; None without one, or for an uploaded model."""
        if self.model is None or self.result is None or self.from_file or self._started is None:
            return None
        return self._started[0]

    def stop(self, timeout: float = 10.0) -> None:
        """Stop the running job and wait for its last epoch; its model is kept if it trained at all."""
        if self.job is not None:
            self.job.stop()
            self.job.join(timeout)
            self.poll()

    def sanity_check(self) -> TrainResult:
        """The 'overfit one batch' check on a fresh copy of the current architecture."""
        data = self.require_data()
        return overfit_one_batch(build_model(self.model_config, seed=(self.train_config or TrainConfig()).init_seed),
                                 data)

    # --- results -------------------------------------------------------------------------

    def evaluation(self) -> Evaluation:
        """Metrics of the current model on the train, validation and test splits (computed once per model)."""
        model, data = self.require_model(), self.require_data()
        if self._evaluation is None:
            names = data.class_names
            validation = (evaluate_model(model, data.X_val, data.y_val, names) if data.has_validation else None)
            train_true = None if data.y_train_clean is None else evaluate_model(model, data.X_train,
                                                                                  data.y_train_clean, names)
            self._evaluation = Evaluation(evaluate_model(model, data.X_train, data.y_train, names), validation,
                                          evaluate_model(model, data.X_test, data.y_test, names), train_true)
        return self._evaluation

    def kept_boundary(self) -> Snapshot | None:
        """The decision boundary of the weights the last run kept (TrainResult.kept_epoch: early stopping goes back
        to its best epoch), as the page shows it after the run; None without a 2-D run's boundaries."""
        result = self.result
        if result is None or not result.snapshots:
            return None
        at = result.kept_index
        if at is not None:
            return result.snapshots[at]
        # a long run's recorder thinned the kept epoch away: drawn from the model, which holds those weights
        return Snapshot(result.kept_epoch, self.boundary(SNAPSHOT_RESOLUTION))

    def boundary(self, resolution: int = 120) -> BoundaryGrid:
        """The current model's decision boundary around all the 2-D points."""
        model, data = self.require_model(), self.require_data()
        if data.is_image:
            raise LabError("Decision boundaries are drawn for 2-D datasets only.")
        return boundary_grid(model, box=grid_box(data.X_all), resolution=resolution)

    @property
    def loss_label(self) -> str:
        """The loss the current settings train with, in words: 'cross-entropy', 'binary cross-entropy', ..."""
        return loss_label((self.train_config or TrainConfig()).loss, head=(self.model_config or ModelConfig()).head)

    def logits(self, inputs: np.ndarray) -> np.ndarray:
        """The current model's logits for a batch of inputs: (n, n_classes), or (n, 1) = z with a sigmoid head."""
        return output_logits(self.require_model(), np.asarray(inputs, dtype=np.float32))

    def logit_chain(self, one_input: np.ndarray) -> LogitChain:
        """Logits -> probabilities -> label, with the numbers, for one input (a 2-D point or a prepared image)."""
        shape = tuple(self.model_config.input_shape) if self.model_config is not None else (-1,)
        return logit_chain(self.logits(np.asarray(one_input).reshape(1, *shape))[0], self.class_names)

    def predict_points(self, points: np.ndarray) -> np.ndarray:
        """Class probabilities for 2-D points (n, 2)."""
        data = self.require_data()
        if data.is_image:
            raise LabError("This model takes images: upload one instead of typing a point.")
        return predict_proba(self.require_model(), np.asarray(points, dtype=np.float32).reshape(-1, 2))

    @staticmethod
    def pixels(X: np.ndarray) -> np.ndarray:
        """Image inputs (n, 1, 28, 28), normalised as the models take them -> [0, 1] pixels (n, 28, 28)."""
        return to_pixels(np.asarray(X)[:, 0])

    def predict_image(self, raw: bytes) -> tuple[PreparedImage, np.ndarray]:
        """Prepare uploaded image bytes and return the steps and the class probabilities."""
        model = self.require_model()
        if not self.model_config.takes_images:
            raise LabError("The current model was trained on 2-D points: train one on MNIST or digits first.")
        prepared = self.prepare(raw)
        return prepared, predict_proba(model, prepared.model_input)[0]

    def prepare(self, raw: bytes) -> PreparedImage:
        """Uploaded image bytes prepared as the models take them, once per upload however often the page reruns
        (kept by digest, at most MAX_PREPARED)."""
        digest = hashlib.sha256(raw).hexdigest()
        prepared = self._prepared.pop(digest, None) or prepare_image(raw)
        self._prepared[digest] = prepared
        while len(self._prepared) > MAX_PREPARED:
            self._prepared.popitem(last=False)
        return prepared

    # --- files ---------------------------------------------------------------------------

    def model_file(self) -> bytes:
        """The current model in the engine's safe file format."""
        extra = {"dataset": self.data.name if self.data else ""}
        return save_model(self.require_model(), self.model_config, self.require_data().class_names, extra=extra)

    def load_model_file(self, raw: bytes) -> LoadedModel:
        """Replace the current model with an uploaded one; on any error nothing changes."""
        loaded = load_model(raw)  # raises CheckpointError before touching the lab
        low, high = DASHBOARD_LIMITS[ModelConfig]["width"]  # the server's limit, as the Model page's and a link's
        if loaded.config.kind == "cnn" and not low <= loaded.config.width <= high:
            raise LabError(f"This model is a CNN of width {loaded.config.width}; this server runs CNNs of width "
                           f"{low} to {high}, so that every page stays quick for everyone. Save a narrower one, or "
                           "use it with the command line (python -m core predict).")
        data = self.data
        fits = data is not None and (data.input_shape, data.n_classes) == (
            tuple(loaded.config.input_shape), loaded.config.n_classes)
        if data is not None and self.default_data and not fits:  # nobody chose this data: the model's kind wins
            self.stop()
            self.data_config, self.data, self.train_config, data = None, None, None, None
        if data is not None and (data.input_shape, data.n_classes) != (
                tuple(loaded.config.input_shape), loaded.config.n_classes):
            raise LabError(
                f"This model takes inputs of shape {tuple(loaded.config.input_shape)} with "
                f"{loaded.config.n_classes} classes, but the current dataset ({data.name}) has "
                f"{data.input_shape} with {data.n_classes}. Pick a matching dataset first.")
        if self.training:
            self.stop()
        self.forget_model()
        self.model_config, self.model, self._loaded_names = loaded.config, loaded.model, tuple(loaded.class_names)
        self.from_file = True
        self._started = (self.settings, "file") if self.settings is not None else None  # not auto-trained away
        return loaded
