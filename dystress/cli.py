"""Command line: ``dystress run`` executes the notebook series; ``dystress render`` refreshes the committed notebooks."""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import yaml

from . import notebooks
from .params import PROFILES


def parse_assignments(pairs: list[str]) -> dict:
    """["tau_max=0.3", "taus=[0.1, 0.2]"] -> {"tau_max": 0.3, "taus": [0.1, 0.2]} (values read as YAML)."""
    values = {}
    for pair in pairs:
        name, sep, raw = pair.partition("=")
        if not sep or not name.isidentifier():
            raise ValueError(f"parameter {pair!r} must look like name=value")
        values[name] = yaml.safe_load(raw) if raw.strip() else ""
    return values


def declared_parameters(source: Path) -> set[str]:
    import papermill

    return set(papermill.inspect_notebook(notebooks.read_source(source)))


def _run(args: argparse.Namespace) -> int:
    only = [o.strip() for o in args.only.split(",") if o.strip()] if args.only else None
    sources = notebooks.list_notebooks(only=only)
    extra = parse_assignments(args.parameter or [])
    declared = {source: declared_parameters(source) for source in sources}
    unused = [name for name in extra if not any(name in d for d in declared.values())]
    if unused:
        raise ValueError(f"no selected notebook declares parameter {', '.join(repr(u) for u in unused)}")
    out = Path(args.out)
    print(f"running {len(sources)} notebook(s) with profile {args.profile!r} into {out}/", flush=True)
    start = time.perf_counter()
    for k, source in enumerate(sources, 1):
        parameters = {"profile": args.profile} | {n: v for n, v in extra.items() if n in declared[source]}
        t0 = time.perf_counter()
        print(f"[{k}/{len(sources)}] {source.stem} ...", end=" ", flush=True)
        try:
            notebooks.execute(source, out / f"{source.stem}.ipynb", parameters, figure_dir=out / "figures")
        except Exception as error:  # papermill names the failing cell and its error
            print("failed", flush=True)
            print(f"\n{source.stem} failed; the notebook as far as it ran is "
                  f"{out / (source.stem + '.failed.ipynb')}\n{error}", file=sys.stderr)
            return 1
        print(f"done in {time.perf_counter() - t0:.0f} s", flush=True)
    print(f"all {len(sources)} notebook(s) ran in {time.perf_counter() - start:.0f} s; executed notebooks in {out}/, "
          f"figures in {out / 'figures'}/")
    return 0


def _render(args: argparse.Namespace) -> int:
    only = [o.strip() for o in args.only.split(",") if o.strip()] if args.only else None
    for source in notebooks.list_notebooks(only=only):
        notebooks.render(source, figure_dir=Path(args.figures))
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
    run.set_defaults(func=_run)
    render = sub.add_parser("render", help="re-execute the committed .ipynb notebooks from their .py sources",
                            description="Execute each notebooks/NN_name.py with its defaults into "
                                        "notebooks/NN_name.ipynb (the committed, executed copy).")
    render.add_argument("--only", help="comma-separated notebook numbers or names")
    render.add_argument("--figures", default="figures", help="figure folder (default: figures)")
    render.set_defaults(func=_render)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return args.func(args)
    except (ValueError, FileNotFoundError) as error:
        print(f"dystress: error: {error}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
