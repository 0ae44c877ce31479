"""Hyperparameter search with Optuna, as the 2021 study's section 2.3 describes it.

Each trial trains one configuration with printability.train.loop.train and returns its best
validation F1. The search space is the study's (learning rate log-uniform in [1e-4, 1e-2],
optimizer Adam or Adadelta) plus SGD and AdamW, weight decay, batch size, dropout, width and
the architecture (restricted with `models`). Every epoch's validation F1 is reported to the
trial, and a MedianPruner stops trials that fall below the median of earlier ones at the same
epoch (`pruning_callback`, the loop's `on_epoch`). The study lives in a storage URL (default a
local sqlite file): several processes or machines given one URL share the study, and every
call adds `trials` more trials to it.

Each trial is an MLflow run nested under one parent run for the study. At the end, OUT gets
best_config.json (TrainConfig fields: `printability train --config OUT/best_config.json`),
summary.json and PNG plots of the optimisation history, the per-epoch validation F1 of every
trial, and the parameter importances.
"""

from __future__ import annotations

import json
import os
import sys
import time
import warnings
from collections.abc import Callable, Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

import optuna
import sqlalchemy.exc

from printability.config import TrainConfig, TuneConfig
from printability.data.store import read_info
from printability.evaluate.metrics import predicts_one_class
from printability.models import DEFAULT_MODEL, MODELS
from printability.train.loop import EpochCallback, StopTraining, train
from printability.train.tracking import MlflowTracker

DEFAULT_STORAGE = "optuna.db"  # in the current folder, beside MLflow's mlflow.db
OPTIMIZER_CHOICES = ("adam", "adadelta", "sgd", "adamw")  # the study's two, then ours
BATCH_SIZES = (8, 16, 32, 64)
LR_RANGE = (1e-4, 1e-2)  # the 2021 study's range, log-uniform
WEIGHT_DECAY_RANGE = (1e-5, 1e-1)
DROPOUT_RANGE = (0.0, 0.5)
WIDTH_RANGE = (0.5, 1.5)  # channel width multiplier, in steps of 0.25
DEFAULT_DROPOUT = 0.2  # DistNet's own default: used for the first, enqueued trial
PARENT_RUN_ATTR = "mlflow_parent_run_id"


def suggest_config(
    trial: optuna.Trial, base: TrainConfig, models: Sequence[str] = (DEFAULT_MODEL,)
) -> TrainConfig:
    """The trial's configuration: `base` with the searched fields drawn by the trial."""
    return replace(
        base,
        model=trial.suggest_categorical("model", list(models)),
        optimizer=trial.suggest_categorical("optimizer", list(OPTIMIZER_CHOICES)),
        lr=trial.suggest_float("lr", *LR_RANGE, log=True),
        weight_decay=trial.suggest_float("weight_decay", *WEIGHT_DECAY_RANGE, log=True),
        batch_size=trial.suggest_categorical("batch_size", list(BATCH_SIZES)),
        dropout=trial.suggest_float("dropout", *DROPOUT_RANGE),
        width=trial.suggest_float("width", *WIDTH_RANGE, step=0.25),
    )


def base_params(base: TrainConfig, models: Sequence[str]) -> dict[str, Any]:
    """`base` as search-space values: enqueued as a new study's first trial, so the project's
    defaults are always measured and the best trial is never worse than them."""
    return {
        "model": base.model if base.model in models else models[0],
        "optimizer": base.optimizer,
        "lr": base.lr,
        "weight_decay": base.weight_decay,
        "batch_size": base.batch_size if base.batch_size in BATCH_SIZES else 32,
        "dropout": DEFAULT_DROPOUT if base.dropout is None else base.dropout,
        "width": base.width,
    }


def learned_f1(f1: float, learned: bool) -> float:
    """A trial's value: validation F1, or 0 for a network that gave one answer for every
    validation sample. On balanced data, "printable" for everything scores F1 0.667, more than a
    network that has begun to learn, so the search would favour stuck networks."""
    return f1 if learned else 0.0


class PrunedTrial(StopTraining, optuna.TrialPruned):
    """The pruner stopped this trial: as StopTraining it ends the training run (tracked as
    KILLED), as optuna.TrialPruned it marks the trial PRUNED."""


def pruning_callback(trial: optuna.Trial, track: bool = False) -> EpochCallback:
    """The `on_epoch` of train(): report the epoch's validation F1 (`learned_f1`), raise
    PrunedTrial when the pruner says so. With `track`, tags the trial's MLflow run (active during
    training)."""

    def on_epoch(epoch: int, row: dict[str, Any]) -> None:
        if track and epoch == 1:
            _tag_trial_run(trial)
        value = learned_f1(row["val_f1"], row.get("val_learned", True))
        trial.report(value, epoch)
        if trial.should_prune():
            raise PrunedTrial(f"val F1 {value:.4f} at epoch {epoch}")

    return on_epoch


def _tag_trial_run(trial: optuna.Trial) -> None:
    """Name the study and trial on the active MLflow run, and the run on the trial."""
    import mlflow

    run = mlflow.active_run()
    if run is not None:
        mlflow.set_tags({"optuna.study": trial.study.study_name, "optuna.trial": trial.number})
        trial.set_user_attr("mlflow_run_id", run.info.run_id)


def open_study(
    storage: str | None,
    study_name: str,
    seed: int | None = None,
    startup_trials: int = 2,
    warmup_epochs: int = 0,
) -> optuna.Study:
    """Create the study in `storage`, or load it if it exists (another process may be running
    it). Maximises validation F1; TPE sampler, MedianPruner after `startup_trials` complete,
    never within a trial's first `warmup_epochs` epochs."""
    url = storage or f"sqlite:///{Path(DEFAULT_STORAGE).resolve()}"
    if url.startswith("sqlite:///") and not url.endswith(":memory:"):
        Path(url.removeprefix("sqlite:///")).parent.mkdir(parents=True, exist_ok=True)
    sampler = optuna.samplers.TPESampler(seed=seed)
    pruner = optuna.pruners.MedianPruner(
        n_startup_trials=startup_trials, n_warmup_steps=warmup_epochs + 1
    )  # steps are 1-based epochs; the pruner judges a step from n_warmup_steps on
    for attempt in range(5):
        try:
            return optuna.create_study(
                storage=_storage(url),
                study_name=study_name,
                direction="maximize",
                sampler=sampler,
                pruner=pruner,
                load_if_exists=True,
            )
        except (sqlalchemy.exc.OperationalError, sqlalchemy.exc.IntegrityError) as exc:
            if attempt == 4:  # else: processes creating one new database at once can collide
                message = str(exc).splitlines()[0]
                raise ValueError(f"storage {_hide_password(url)}: {message}") from exc
            time.sleep(0.5 + attempt)
        except sqlalchemy.exc.ArgumentError as exc:
            raise ValueError(f"storage {_hide_password(url)}: {exc}") from exc
        except ImportError as exc:
            raise ValueError(
                f"storage {_hide_password(url)}: no database driver (pip install -c "
                "constraints.txt psycopg2-binary for postgresql://, pymysql for mysql+pymysql://)"
            ) from exc
    raise AssertionError("unreachable")


def _storage(url: str) -> optuna.storages.RDBStorage:
    """An RDB storage with heartbeats: a trial whose process died (a preempted node) is marked
    failed after 3 minutes and run again once by the next process that asks for a trial."""
    engine_kwargs = {"connect_args": {"timeout": 60}} if url.startswith("sqlite") else None
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
        return optuna.storages.RDBStorage(
            url,
            engine_kwargs=engine_kwargs,
            heartbeat_interval=60,
            grace_period=180,
            heartbeat_stale_trial_callback=optuna.storages.RetryHeartbeatStaleTrialCallback(
                max_retry=1
            ),
        )


def tune(
    data: str | Path,
    out: str | Path | None = None,
    *,
    settings: TuneConfig | None = None,
    base: TrainConfig | None = None,
    track: bool = True,
    progress: bool = False,
) -> dict[str, Any]:
    """Run `settings.trials` more trials (or until `settings.timeout` seconds) of the study
    `settings.study_name` in `settings.storage` (default sqlite:///optuna.db in this folder).

    `base` holds the TrainConfig fields that are not searched (precision, workers, patience,
    ...); `settings`' epochs, max_train_samples and seed override it. Trial runs go to
    OUT/trial-NNNN (default OUT: runs/tune/STUDY); `track` logs them to MLflow, `progress`
    shows their progress bars. Returns a summary (also OUT/summary.json): trial counts by
    state, the best value, trial, parameters and config, and the files written.
    """
    settings = settings or TuneConfig()
    data = Path(data)
    _check_inputs(data, settings)
    out = Path(out) if out is not None else Path("runs/tune") / settings.study_name
    out.mkdir(parents=True, exist_ok=True)
    base = replace(
        base or TrainConfig(),
        epochs=settings.epochs,
        max_train_samples=settings.max_train_samples,
        **({} if settings.seed is None else {"seed": settings.seed}),
    )
    models = list(settings.models)
    # the study's large networks are at chance for the first epochs; judge them on the second half
    study = open_study(
        settings.storage, settings.study_name, settings.seed, warmup_epochs=settings.epochs // 2
    )
    _check_models(study, models)
    if not study.get_trials(deepcopy=False):
        study.enqueue_trial(base_params(base, models), skip_if_exists=True)
    objective = _objective(data, out, base, models, track, progress)
    parent = _parent_run(study, settings.storage, data, models, base) if track else None
    return _optimize(study, objective, settings, out, parent)


def _check_inputs(data: Path, settings: TuneConfig) -> None:
    """Clear errors now rather than one per trial: one process, a dataset, known models."""
    if int(os.environ.get("WORLD_SIZE", "1")) > 1 or "HOROVOD_RANK" in os.environ:
        raise ValueError(
            "tune runs each trial in one process: for parallel trials start several "
            "`printability tune` processes on one --storage, not torchrun or horovodrun"
        )
    read_info(data)
    unknown = [m for m in settings.models if m not in MODELS]
    if not settings.models or unknown:
        names = ", ".join(unknown) or "(none given)"
        raise ValueError(f"unknown model(s) {names}; choose from {', '.join(MODELS)}")


def _objective(
    data: Path, out: Path, base: TrainConfig, models: list[str], track: bool, progress: bool
) -> Callable[[optuna.Trial], float]:
    """A trial: train its configuration in OUT/trial-NNNN, pruned per epoch; its value is the
    best checkpoint's validation F1 (`learned_f1`)."""

    def objective(trial: optuna.Trial) -> float:
        config = suggest_config(trial, base, models)
        trial.set_user_attr("config", config.to_dict())
        run_dir = out / f"trial-{trial.number:04d}"
        try:
            metrics = train(
                data,
                run_dir,
                config=config,
                track=track,
                progress=progress,
                on_epoch=pruning_callback(trial, track),
            )
        finally:
            (run_dir / "last.pt").unlink(missing_ok=True)  # only for --resume; best.pt stays
        trial.set_user_attr("val_accuracy", metrics["val"]["accuracy"])
        trial.set_user_attr("val_confusion_matrix", metrics["val"]["confusion_matrix"])
        trial.set_user_attr("test_f1", metrics["test"]["f1"])
        trial.set_user_attr("epochs_run", metrics["epochs_run"])
        return learned_f1(metrics["val"]["f1"], metrics["val"]["predicts_one_class"] is None)

    return objective


def _optimize(
    study: optuna.Study,
    objective: Callable[[optuna.Trial], float],
    settings: TuneConfig,
    out: Path,
    parent: MlflowTracker | None,
) -> dict[str, Any]:
    """Run the trials (Ctrl-C ends them, keeping the finished ones), then write the summary,
    best config and plots, and close the parent MLflow run (None: not tracked)."""
    callbacks = [_log_to_parent] if parent is not None else []
    start, status, interrupted = time.perf_counter(), "FAILED", False
    try:
        try:
            study.optimize(
                objective,
                n_trials=settings.trials,
                timeout=settings.timeout,
                catch=(RuntimeError,),  # one trial's torch error (out of memory) fails that trial
                callbacks=callbacks,
                gc_after_trial=True,
            )
        except KeyboardInterrupt:
            interrupted = True
        summary = _summary(study, settings.storage, out, time.perf_counter() - start)
        summary["interrupted"] = interrupted
        summary["files"] = write_outputs(study, out, summary)
        if parent is not None:
            _finish_parent(parent, summary)
        status = "KILLED" if interrupted else "FINISHED"
        return summary
    finally:
        if parent is not None:
            parent.end(status)


def _check_models(study: optuna.Study, models: list[str]) -> None:
    """One study, one model list: Optuna cannot change a categorical's choices mid-study."""
    before = study.user_attrs.get("models")
    if before is None:
        study.set_user_attr("models", models)
    elif before != models:
        raise ValueError(
            f"study {study.study_name!r} searches models {','.join(before)}; "
            f"use --models {','.join(before)} or a new --study name"
        )


def _parent_run(study, storage, data, models, base):
    """The study's parent MLflow run: started by the first process, continued by the others
    (its id is a study attribute). A store that lacks it (another machine's local MLflow)
    gets a parent run of its own."""
    import mlflow

    run_id = study.user_attrs.get(PARENT_RUN_ATTR)
    try:
        parent = MlflowTracker("printability", study.study_name, run_id=run_id)
    except mlflow.exceptions.MlflowException:
        parent = MlflowTracker("printability", study.study_name)
    if parent.run_id != run_id:
        study.set_user_attr(PARENT_RUN_ATTR, parent.run_id)
    mlflow.set_tags(
        {
            "optuna.study": study.study_name,
            "optuna.storage": _hide_password(storage or DEFAULT_STORAGE),
            "tune.data": str(data),
            "tune.models": ",".join(models),
            "tune.epochs": base.epochs,
            "tune.max_train_samples": base.max_train_samples,
        }
    )
    return parent


def _log_to_parent(study: optuna.Study, trial: optuna.trial.FrozenTrial) -> None:
    """After each trial (the parent run is active again): its value and the best so far."""
    import mlflow

    if trial.value is not None:
        mlflow.log_metric("trial_val_f1", trial.value, step=trial.number)
    complete = study.get_trials(deepcopy=False, states=(optuna.trial.TrialState.COMPLETE,))
    if complete:
        mlflow.log_metric("best_val_f1", max(t.value for t in complete), step=trial.number)


def _finish_parent(parent, summary: dict[str, Any]) -> None:
    counts = summary["trials"]
    parent.log_metrics({f"trials_{k}": v for k, v in counts.items()})
    if summary["best"] is not None:
        parent.log_metrics({"best_val_f1": summary["best"]["value"]})
    for path in summary["files"].values():
        parent.log_artifact(path)


def _summary(study: optuna.Study, storage, out: Path, seconds: float) -> dict[str, Any]:
    trials = study.get_trials(deepcopy=False)
    counts = {state.name.lower(): 0 for state in optuna.trial.TrialState}
    for t in trials:
        counts[t.state.name.lower()] += 1
    counts["total"] = len(trials)
    complete = [t for t in trials if t.state == optuna.trial.TrialState.COMPLETE]
    best = None
    if complete:
        t = study.best_trial
        matrix = t.user_attrs.get("val_confusion_matrix")
        best = {
            "value": t.value,
            "trial": t.number,
            "params": t.params,
            "val_accuracy": t.user_attrs.get("val_accuracy"),
            "one_class": (matrix is not None and predicts_one_class(matrix) is not None),
            "test_f1": t.user_attrs.get("test_f1"),
            "run_dir": str(out / f"trial-{t.number:04d}"),
            "config": best_config(t),
        }
    return {
        "study": study.study_name,
        "storage": _hide_password(storage or f"sqlite:///{Path(DEFAULT_STORAGE).resolve()}"),
        "trials": counts,
        "best": best,
        "seconds": round(seconds, 1),
    }


def best_config(trial: optuna.trial.FrozenTrial) -> dict[str, Any]:
    """The trial's TrainConfig as `printability train --config` reads it, for the full
    training set (max_train_samples, a quick-run setting, is left out)."""
    values = dict(trial.user_attrs["config"], max_train_samples=None)
    return TrainConfig.from_dict(values).to_dict()


def write_outputs(study: optuna.Study, out: Path, summary: dict[str, Any]) -> dict[str, str]:
    """best_config.json (if any trial completed), summary.json and the plots; returns paths."""
    files = {}
    if summary["best"] is not None:
        path = out / "best_config.json"
        path.write_text(json.dumps(summary["best"]["config"], indent=2) + "\n")
        files["best_config"] = str(path)
    files.update(write_plots(study, out))
    path = out / "summary.json"
    path.write_text(json.dumps(summary | {"files": files}, indent=2) + "\n")
    files["summary"] = str(path)
    return files


def write_plots(study: optuna.Study, out: Path) -> dict[str, str]:
    """optimization_history.png (from 1 completed trial on), intermediate_values.png (from 1
    reported epoch on) and param_importances.png (from 2 completed trials on), drawn by
    optuna.visualization.matplotlib."""
    import matplotlib

    if "matplotlib.pyplot" not in sys.modules:
        matplotlib.use("Agg")  # files only; a notebook that has pyplot keeps its backend
    import matplotlib.pyplot as plt
    from optuna.visualization import matplotlib as ovm

    trials = study.get_trials(deepcopy=False)
    complete = [t for t in trials if t.state == optuna.trial.TrialState.COMPLETE]
    plots = {}
    if complete:
        plots["optimization_history"] = ovm.plot_optimization_history
    if any(t.intermediate_values for t in trials):
        plots["intermediate_values"] = ovm.plot_intermediate_values
    if len(complete) >= 2:
        plots["param_importances"] = ovm.plot_param_importances
    files = {}
    for name, plot in plots.items():
        path = out / f"{name}.png"
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")  # ExperimentalWarning, constant-parameter notes
                ax = plot(study)
        except (ValueError, RuntimeError) as exc:  # e.g. importances of parameters never varied
            print(f"printability tune: no {name} plot: {exc}", file=sys.stderr)
            continue
        fig = ax.figure
        fig.set_size_inches(8, 5)
        fig.tight_layout()
        fig.savefig(path, dpi=100)
        plt.close(fig)
        files[name] = str(path)
    return files


def _hide_password(url: str) -> str:
    """A storage URL fit to print and log: postgresql://user:***@host/db."""
    try:
        from sqlalchemy.engine import make_url

        return make_url(url).render_as_string(hide_password=True)
    except Exception:
        return url


def format_summary(summary: dict[str, Any]) -> str:
    """The closing report of a tune run, as a few readable lines."""
    counts = summary["trials"]
    lines = [
        f"study {summary['study']} in {summary['storage']}: {counts['total']} trials "
        f"({counts['complete']} complete, {counts['pruned']} pruned, {counts['fail']} failed, "
        f"{counts['running']} running); this call {summary['seconds']} s"
        + (", interrupted" if summary.get("interrupted") else "")
    ]
    best = summary["best"]
    if best is None:
        lines.append("no trial has completed yet: no best configuration")
    else:
        params = ", ".join(
            f"{k} {v:.3g}" if isinstance(v, float) else f"{k} {v}"
            for k, v in best["params"].items()
        )
        scores = [f"validation F1 {best['value']:.4f}"]
        if best["val_accuracy"] is not None:
            scores.append(f"accuracy {best['val_accuracy']:.4f}")
        if best["test_f1"] is not None:
            scores.append(f"test F1 {best['test_f1']:.4f}")
        lines.append(f"best: trial {best['trial']}, {', '.join(scores)}; {params}")
        if best["one_class"]:
            lines.append(
                "note: the best trial predicts one class for every validation sample (on balanced "
                "data, all 'printable' scores F1 0.667): train the trials longer or on more samples"
            )
    lines += [f"wrote {path}" for path in summary["files"].values()]
    if best is not None:
        lines.append(
            f"train with it: printability train --data DATA --out RUN --config "
            f"{summary['files']['best_config']} --epochs 30"
        )
    return "\n".join(lines)
