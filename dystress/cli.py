"""The ``dystress`` command.

    dystress run       execute the notebook series with papermill (the main job)
    dystress train     pretrain one configuration (a profile plus options), resumable
    dystress evaluate  evaluate a trained run folder into its result bundle
    dystress publish   copy finished runs' results (no weights) into results/
    dystress render    refresh the committed, executed notebooks from their sources
    dystress book      the committed notebooks and README as a static HTML site (nothing executed)
"""

from __future__ import annotations

import argparse
import errno
import os
import signal
import sys
import threading
import time
from pathlib import Path

import yaml

from dystress.atomic import exclusive
from dystress.pipeline import summary
from dystress.pipeline.parameters import PROFILES, check_values


def parse_assignments(pairs: list[str]) -> dict:
    """["tau_max=0.3", "taus=[0.1, 0.2]"] -> {"tau_max": 0.3, "taus": [0.1, 0.2]} (values read as YAML)."""
    values = {}
    for pair in pairs:
        name, sep, raw = pair.partition("=")
        if not sep or not name.isidentifier():
            raise ValueError(f"parameter {pair!r} must look like name=value")
        try:
            values[name] = yaml.safe_load(raw) if raw.strip() else ""
        except yaml.YAMLError as error:
            problem = getattr(error, "problem", None) or str(error).splitlines()[0]
            raise ValueError(f"parameter {name!r}: {raw!r} is not a YAML value ({problem}); quote it, e.g. "
                             f"-p '{name}=[a, b]' for a list") from None
    return values


def declared_parameters(source: Path) -> dict[str, object]:
    """{name: annotation} of a notebook's parameters cell, as papermill reads it."""
    import papermill

    from dystress.pipeline import execution
    from dystress.pipeline.parameters import annotation

    return {name: annotation(spec["inferred_type_name"])
            for name, spec in papermill.inspect_notebook(execution.read_source(source)).items()}


def _selected(only: str | None) -> list[Path]:
    """The notebooks named by ``--only`` ("01,02" or names; None: all)."""
    from dystress.pipeline import execution  # the notebook stack, which `train` and `evaluate` do not need

    if only is None:
        return execution.list_notebooks()
    names = [o.strip() for o in only.split(",") if o.strip()]
    if not names:
        raise ValueError(f"--only names no notebook ({only!r}); give numbers or names, e.g. --only 01,04")
    return execution.list_notebooks(only=names)


def parameters_for(profile: str, extra: dict, declared: dict) -> dict:
    """What ``dystress run`` passes to one notebook: the profile, then the ``-p`` values it declares."""
    return {"profile": profile} | {name: value for name, value in extra.items() if name in declared}


def _run(args: argparse.Namespace) -> int:
    sources = _selected(args.only)
    extra = parse_assignments(args.parameter or [])
    if args.recompute:
        extra["force"] = True
    declared = {source: declared_parameters(source) for source in sources}
    unused = [name for name in extra if not any(name in d for d in declared.values())]
    if unused:
        raise ValueError(f"no selected notebook declares parameter {', '.join(repr(u) for u in unused)}")
    for source in sources:  # every value checked before a kernel starts or anything is written
        try:
            check_values(parameters_for(args.profile, extra, declared[source]), declared[source])
        except ValueError as error:
            raise ValueError(f"{source.stem}: {error}") from None
    out = Path(args.out).resolve()
    if out.exists() and not out.is_dir():
        raise ValueError(f"--out {out} exists and is not a folder")
    with exclusive(out, "output folder"):
        return _run_series(sources, out, args.profile, extra, declared)


def stale_outputs(out: Path, sources: list[Path]) -> list[Path]:
    """What an earlier run left in ``out`` that this one replaces: the selected notebooks' executed and failed
    copies, and the summary of the whole set. Removed before the first notebook starts, so that out/ never
    shows an earlier notebook or summary beside a failed or interrupted run."""
    paths = [out / "summary.md", out / "summary.json"]
    for source in sources:
        paths += [out / f"{source.stem}.ipynb", out / f"{source.stem}.failed.ipynb"]
    return [path for path in paths if path.exists()]


def _run_series(sources: list[Path], out: Path, profile: str, extra: dict, declared: dict) -> int:
    from dystress.pipeline import execution

    for path in stale_outputs(out, sources):
        path.unlink()
    environment = {"TQDM_DISABLE": os.environ.get("TQDM_DISABLE", "1")}
    print(f"running {len(sources)} notebook(s) with profile {profile!r} into {out}/", flush=True)
    start = time.perf_counter()
    for k, source in enumerate(sources, 1):
        parameters = parameters_for(profile, extra, declared[source])
        t0 = time.perf_counter()
        print(f"[{k}/{len(sources)}] {source.stem} ...", end=" ", flush=True)
        missing = execution.missing_requirements(source)
        if missing:
            print(f"skipped: {missing}", flush=True)
            continue
        try:
            execution.execute(source, out / f"{source.stem}.ipynb", parameters, figure_dir=out / "figures",
                              environment=environment)
        except Exception as error:  # papermill names the failing cell and its error
            print("failed", flush=True)
            partial = out / f"{source.stem}.failed.ipynb"
            where = f"; the notebook as far as it ran is {partial}" if partial.exists() else ""
            print(f"\n{source.stem} failed{where}\n{error}", file=sys.stderr)
            return 1
        print(f"done in {time.perf_counter() - t0:.0f} s", flush=True)
    table = summary.write([out / f"{s.stem}.ipynb" for s in sources if (out / f"{s.stem}.ipynb").exists()], out)
    print(f"all {len(sources)} notebook(s) ran in {time.perf_counter() - start:.0f} s; executed notebooks in {out}/, "
          f"figures in {out / 'figures'}/" + (f", summary in {table}" if table else ""))
    return 0


def _render(args: argparse.Namespace) -> int:
    from dystress.pipeline import execution

    for source in _selected(args.only):
        missing = execution.missing_requirements(source)
        if missing:
            raise RuntimeError(f"cannot render: {missing}; the committed {source.with_suffix('.ipynb').name} is "
                               f"unchanged")
        try:
            execution.render(source, figure_dir=Path(args.figures))
        except Exception as error:
            if type(error).__name__ != "PapermillExecutionError":
                raise
            raise RuntimeError(f"{source.name} failed in cell {error.exec_count}: {error.ename}: {error.evalue}; "
                               f"the committed {source.with_suffix('.ipynb').name} is unchanged") from None
    return 0


def _book(args: argparse.Namespace) -> int:
    try:
        from dystress.pipeline import book
    except ImportError as error:
        raise RuntimeError(f"dystress book needs Sphinx and myst-nb ({error}): pip install -e '.[book]'") from None
    index, warnings = book.build(args.out)
    for line in warnings:
        print(f"warning: {line}", file=sys.stderr)
    print(f"book: {index} ({len(warnings)} warning{'' if len(warnings) == 1 else 's'})")
    return 1 if warnings and args.strict else 0


def _parse_bool(text: str) -> bool:
    value = yaml.safe_load(text)
    if not isinstance(value, bool):
        raise argparse.ArgumentTypeError(f"expected true or false, got {text!r}")
    return value


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected an integer >= 1, got {text!r}")
    return value


def _config_options() -> dict[str, object]:
    """The options of `dystress train`: TrainConfig's fields and every registered loss's parameters, flat, and
    the names they replaced (``config.RENAMED``, read for one more release and hidden from --help)."""
    from dystress.engine.config import RENAMED, field_types, loss_parameters

    current = {k: v for k, v in field_types().items() if k != "loss_options"} | loss_parameters()
    return current | {old: current[new] for old, (new, _) in RENAMED.items()}


def _add_config_options(parser: argparse.ArgumentParser) -> None:
    import typing

    from dystress.engine.config import RENAMED, field_help

    helps = field_help() | {old: argparse.SUPPRESS for old in RENAMED}
    group = parser.add_argument_group("configuration (defaults: the chosen profile; loss parameters apply to "
                                      "the loss that declares them)")
    for name, kind in _config_options().items():
        plain = next((t for t in typing.get_args(kind) if t is not type(None)), kind)  # float | None -> float
        parse = {bool: _parse_bool, int: int, float: float, str: str}.get(plain, str)
        flags = list(dict.fromkeys((f"--{name}", f"--{name.replace('_', '-')}")))
        group.add_argument(*flags, dest=name, type=parse, default=None,
                           metavar=getattr(plain, "__name__", "value").upper(), help=helps.get(name))


def _train(args: argparse.Namespace) -> int:
    from dystress.engine import config as config_module
    from dystress.engine import run_folder
    from dystress.engine.config import load_data
    from dystress.engine.train import train
    from dystress.pipeline.runs import run_name, runs_root

    overrides = {name: getattr(args, name) for name in _config_options() if getattr(args, name) is not None}
    config = config_module.resolve(args.profile, **overrides)
    folder = Path(args.run_dir) if args.run_dir else runs_root() / run_name(config)
    print(f"run folder {folder} (config {config.run_hash()})", flush=True)
    args.kept = lambda: _epochs_kept(folder, config.epochs)
    if config.dataset in config_module.SENTENCE_DATASETS:
        return _train_sentences(config, folder, args.stop_after)
    data = load_data(config)
    history = train(config, folder, data=data, progress=True, stop_after=args.stop_after)
    done = history[-1]["epoch"] if history else 0
    print(f"{done}/{config.epochs} epochs; final loss {history[-1].get('loss')}" if done else "no epoch trained")
    with_knn = [r for r in history if r.get("knn_top1") is not None]
    if len(with_knn) >= 2 and with_knn[0]["epoch"] == 0:
        first, last = with_knn[0], with_knn[-1]
        k = min(config.knn_k, len(data.train))  # the monitor's k, capped at the training images
        capped = f" (knn_k {config.knn_k} capped at the {len(data.train)} training images)" if k < config.knn_k else ""
        print(f"kNN top-1 (k={k}, t={config.knn_t}){capped}: untrained {first['knn_top1']:.2f}% -> "
              f"epoch {last['epoch']} {last['knn_top1']:.2f}% ({last['knn_top1'] - first['knn_top1']:+.2f} points)")
    if not with_knn:
        print("kNN: not measured (it needs a labelled test split with at least two classes)")
    if (folder / run_folder.METRICS).exists():
        print(f"metrics: {folder / run_folder.METRICS}")
    return 0


def _train_sentences(config, folder: Path, stop_after: int | None) -> int:
    from dystress.engine import sentences

    data = sentences.load_sentence_data(config)
    print(data.describe(), flush=True)
    history = sentences.train(config, folder, data=data, progress=True, stop_after=stop_after)
    first, last = history[0], history[-1]
    print(f"{int(last['epoch'])}/{config.epochs} epochs; STS-B dev Spearman: as shipped {first['sts_dev']:.2f} -> "
          f"epoch {int(last['epoch'])} {last['sts_dev']:.2f}")
    return 0


def _epochs_kept(folder: Path, epochs: int) -> str:
    """What an interrupted training leaves: the last epoch its checkpoint and metrics hold."""
    from dystress.engine import run_folder

    try:
        done = run_folder.last_epoch(folder) if (folder / run_folder.METRICS).exists() else 0
    except (OSError, ValueError):
        done = 0
    if done == 0:
        return f"no epoch finished in {folder}; the same command starts the run again"
    return f"epoch {done} of {epochs} saved in {folder}; the same command resumes"


KEPT = {  # what an interrupted command leaves, when it does not say more itself (``args.kept``)
    "evaluate": "no bundle was written (a bundle is written whole or not at all); the same command evaluates again",
    "run": "the notebooks that finished are in the output folder (one interrupted while it ran is kept as far as "
           "it ran, as .failed.ipynb); the same command runs the series again and loads the stored runs",
    "render": "the notebooks rendered before it are updated, the others are as they were",
    "book": "the previous book, if any, is unchanged",
    "publish": "the results published before it are complete, results/ holds nothing half-copied",
}


def _one_line(error: BaseException) -> str:
    """An error as one line: an operating-system error with its file and what to do, anything else its first
    line."""
    if isinstance(error, OSError) and not isinstance(error, FileNotFoundError) and error.errno is not None:
        where = f" {error.filename}" if error.filename else ""
        advice = {errno.ENOSPC: "free space on that disk and run the same command again",
                  errno.EACCES: "make it writable or choose another folder",
                  errno.EROFS: "the file system is read-only: choose another folder"}.get(error.errno, "")
        return f"{error.strerror}:{where}" + (f"; {advice}" if advice else "")
    text = str(error).strip()
    return text.splitlines()[0] if text else type(error).__name__


class Terminated(KeyboardInterrupt):
    """SIGTERM, raised where the process is, so that it unwinds as an interrupt does (locks released,
    temporary files removed)."""


def _terminate(signum, frame) -> None:
    raise Terminated()


def _evaluate(args: argparse.Namespace) -> int:
    import json

    from dystress.pipeline.runs import evaluate_run

    print(f"evaluating {args.run} ...", flush=True)
    summary, arrays = evaluate_run(args.run, max_points=args.max_points)
    print(json.dumps(summary, indent=2, sort_keys=True))
    print(f"bundle: {Path(args.run) / 'bundle.json'} and bundle.npz ({', '.join(sorted(arrays))})")
    return 0


def _publish(args: argparse.Namespace) -> int:
    from dystress.pipeline.runs import publish

    for folder in args.runs:
        print(f"{folder} -> {publish(folder, replace=args.replace)}")
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="dystress", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    run = sub.add_parser("run", help="execute the notebook series with papermill",
                         description="Execute the notebooks in order with papermill; write the executed notebooks "
                                     "and their figures to --out. Stops at the first failing notebook.")
    run.add_argument("--profile", default="smoke", choices=PROFILES,
                     help="smoke: seconds per notebook on a CPU, embedded data; small: minutes, real data; "
                          "paper: the paper's recipe on a GPU (default: smoke)")
    run.add_argument("--only", help="comma-separated notebook numbers or names, e.g. 01,02")
    run.add_argument("-p", "--parameter", action="append", metavar="NAME=VALUE",
                     help="set a notebook parameter (repeatable; value read as YAML), passed to the notebooks "
                          "that declare it")
    run.add_argument("--out", default="out", help="output folder (default: out)")
    run.add_argument("--recompute", action="store_true",
                     help="retrain every run even when a stored result exists (sets force=True)")
    run.set_defaults(func=_run)
    train = sub.add_parser("train", help="pretrain one configuration (resumes an interrupted run)",
                           description="Pretrain a contrastive model: a profile's configuration with the options "
                                       "given. Running the same command again resumes the run from its last "
                                       "completed epoch.")
    train.add_argument("--profile", default="smoke", choices=PROFILES, help="base configuration (default: smoke)")
    train.add_argument("--run-dir", help="run folder (default: $DYSTRESS_RUNS or runs/, then <loss>-<config hash>)")
    train.add_argument("--stop-after", type=_positive_int, metavar="EPOCHS",
                       help="stop after this many epochs, at least 1 (resume later)")
    _add_config_options(train)
    train.set_defaults(func=_train)
    evaluate = sub.add_parser("evaluate", help="evaluate a trained run into bundle.json / bundle.npz",
                              description="kNN, long-tail kNN, linear probe, uniformity, tolerance, similarity "
                                          "histograms with EMD, positive against top-10 negatives and a t-SNE.")
    evaluate.add_argument("run", help="a run folder written by `dystress train`")
    evaluate.add_argument("--max-points", type=int, default=2000, help="test points kept for t-SNE (default 2000)")
    evaluate.set_defaults(func=_evaluate)
    publish = sub.add_parser("publish", help="copy finished runs' results (no weights) into results/",
                             description="Copy config.json, metrics.csv, manifest.json and bundle.{json,npz} of "
                                         "finished runs, evaluated at their last epoch, into results/<loss>-<hash>/ "
                                         "(the name their configuration gives), where notebooks find them before "
                                         "training; commit them to share reference runs.")
    publish.add_argument("runs", nargs="+", help="finished, evaluated run folders")
    publish.add_argument("--replace", action="store_true",
                         help="overwrite a different result of the same configuration already in results/")
    publish.set_defaults(func=_publish)
    render = sub.add_parser("render", help="re-execute the committed .ipynb notebooks from their .py sources",
                            description="Execute each notebooks/NN_name.py with its defaults into "
                                        "notebooks/NN_name.ipynb (the committed, executed copy).")
    render.add_argument("--only", help="comma-separated notebook numbers or names")
    render.add_argument("--figures", default="figures", help="figure folder (default: figures)")
    render.set_defaults(func=_render)
    book = sub.add_parser("book", help="write the executed notebooks and README as a static HTML site",
                          description="Build a static HTML book from README.md, the committed executed notebooks "
                                      "and benchmarks/RESULTS.md, without executing anything; open "
                                      "DIR/index.html in a browser.")
    book.add_argument("--out", default="out/book", help="output folder, replaced whole (default: out/book)")
    book.add_argument("--strict", action="store_true", help="exit 1 when Sphinx gives a warning")
    book.set_defaults(func=_book)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    previous = signal.signal(signal.SIGTERM, _terminate) if threading.current_thread() is threading.main_thread() \
        else None
    try:
        return args.func(args)
    except (ValueError, OSError, RuntimeError) as error:  # OSError: a full disk, a read-only folder, a missing file
        print(f"dystress: error: {_one_line(error)}", file=sys.stderr)
        return 2
    except KeyboardInterrupt as interrupt:
        terminated = isinstance(interrupt, Terminated)
        kept = args.kept() if hasattr(args, "kept") else KEPT.get(args.command, "")
        print(f"dystress {args.command}: {'terminated (SIGTERM)' if terminated else 'interrupted (SIGINT)'}; "
              f"{kept}", file=sys.stderr)
        return 143 if terminated else 130
    finally:
        if previous is not None:
            signal.signal(signal.SIGTERM, previous)


if __name__ == "__main__":
    sys.exit(main())
