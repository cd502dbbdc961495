"""Minutes: test BLEU against training minutes, the GRU tutorial against the Transformer's.

Each model trains with the command a learner types, ``python -m MODEL train --preset tutorial
--data PAIRS --time-limit MINUTES`` (for the Transformer that also fits its warm-up and decay
to the steps the limit allows and keeps the best average of the last epochs; the GRU stops
early once validation loss stops falling), for each budget in ``--minutes``; all on the same
seeded split. Each run is scored greedily on the whole test split: BLEU in the tutorial's
normalization with a 95% bootstrap interval over sentences, and chrF. "When does the
Transformer win?" is where its line crosses the GRU's.

    python bench/experiments/minutes.py --data ../shared/data/spa-eng/spa_train.txt
    python bench/experiments/minutes.py --quick      # seconds, generated data, tiny models

Runs are trained once and reused (``--work``); a run is scored once (``minutes-score.json``
in it). The page and figure are rewritten after every run, so a partial sweep has a page.
"""

from __future__ import annotations

import json
from pathlib import Path

import lab

MODELS = ("nmt_attention", "transformer")
NAMES = {"nmt_attention": "GRU + attention", "transformer": "Transformer"}


def _model(model: str):
    """``(Config, train module, time-limit recipe)`` of ``model``: what its CLI's
    ``train --time-limit`` uses."""
    import importlib

    config = importlib.import_module(f"{model}.config").Config
    training = importlib.import_module(f"{model}.train")
    return config, training, importlib.import_module(f"{model}.config").time_budget_recipe


def config_of(model: str, minutes: float, args):
    """The configuration ``MODEL train --preset tutorial --time-limit MINUTES`` trains (tiny
    preset and generated data with ``--quick``)."""
    config, _, time_budget_recipe = _model(model)
    config = config.tiny() if args.quick else config.tutorial()
    changes = {"time_limit_minutes": minutes, "seed": args.seeds[0]}
    if args.data:
        changes["data"] = str(Path(args.data).resolve())
    return config.replace(**{**time_budget_recipe(), **changes})


def scored(run_dir: Path, model: str, seed: int, jit_compile: bool = True) -> dict:
    """Greedy BLEU (with interval) and chrF of a run on its test split, computed once; the
    Transformer decodes with XLA (``jit_compile``: faster on a real test split, the same
    translations; a tiny model's few sentences decode faster without the compiles)."""
    path = run_dir / "minutes-score.json"
    if path.exists():
        return json.loads(path.read_text(encoding="utf-8"))
    import importlib

    from common.data.corpus import corpus_of
    from common.evaluation import translate_all
    from common.files import atomic_write_text
    from common.run_folder import RunFolder

    runs = importlib.import_module(f"{model}.runs")
    translator = (runs.load_translator(run_dir, jit_compile=jit_compile)
                  if model == "transformer" else runs.load_translator(run_dir))
    config = runs.load_run(run_dir)[0]
    spanish, english = corpus_of(config).part("test")
    state = RunFolder(run_dir).read_state()
    score = {**lab.bleu_with_interval(translate_all(translator, spanish), english, seed=seed),
             "epochs": state.epoch, "steps": state.epoch * config.steps_per_epoch,
             "stopped_early": state.stopped_early}
    atomic_write_text(path, json.dumps(score))
    return score


def main(argv=None) -> int:
    parser = lab.experiment_parser(__doc__.split("\n")[0])
    parser.add_argument("--minutes", type=float, nargs="+", metavar="M",
                        help="training budgets (default 5 15 30 60; 0.05 0.1 with --quick)")
    parser.add_argument("--models", nargs="+", choices=MODELS, default=list(MODELS))
    args = lab.parse(parser, argv)
    if not args.quick and not args.data:
        parser.error("the full setting needs --data PATH (English<TAB>Spanish pairs)")
    minutes = args.minutes or ([0.05, 0.1] if args.quick else [5, 15, 30, 60])
    work = lab.work_folder(args, "minutes")
    results: dict[str, list[dict]] = {model: [] for model in args.models}
    for budget in sorted(minutes):
        for model in args.models:
            run_dir = work / f"{model}-{budget:g}min"
            lab.trained(run_dir, _model(model)[1].train, config_of(model, budget, args),
                        lambda m: print(m, flush=True))
            row = {"minutes": budget,
                   **scored(run_dir, model, args.seeds[0], jit_compile=not args.quick)}
            results[model].append(row)
            lab.emit({"experiment": "minutes", "model": model, **row})
            _write(Path(args.out), results, args.seeds[0])
    return 0


def _write(out: Path, results: dict[str, list[dict]], seed: int) -> None:
    from common.plotting import save_figure

    save_figure(_figure(results), out / "minutes.png")
    rows = [[f"{r['minutes']:g}", NAMES[model], lab.bleu_cell(r), f"{r['chrf']:.1f}",
             r["epochs"], r["steps"], "yes" if r["stopped_early"] else "no"]
            for model, model_rows in results.items() for r in model_rows]
    body = ("Each model trained with `python -m MODEL train --preset tutorial --data PAIRS "
            "--time-limit MINUTES` and nothing else, one run at a time on this machine; "
            f"greedy decoding of the whole test split ({_sentences(results)} sentences, "
            "never used for a choice), BLEU (tutorial normalization) with a 95% bootstrap "
            "interval over sentences, and chrF. The GRU's epochs are 100 steps, the "
            "Transformer's 200, both batches of 64; \"stopped early\": validation loss "
            "stopped falling before the time was up.\n\n"
            + lab.markdown_table(["minutes", "model", "BLEU [95%]", "chrF", "epochs",
                                  "steps", "stopped early"], rows)
            + "\n![BLEU against training minutes](minutes.png)\n")
    print(lab.results_page(out, "minutes", "Minutes: when does the Transformer win?", body,
                           [seed]))


def _sentences(results) -> int:
    return next(r["sentences"] for rows in results.values() for r in rows)


def _figure(results: dict[str, list[dict]]):
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib.figure import Figure

    fig = Figure(figsize=(7.5, 4.6), layout="constrained")
    ax = fig.subplots()
    budgets = sorted({r["minutes"] for rows in results.values() for r in rows})
    for model, rows in results.items():
        x = [r["minutes"] for r in rows]
        y = [r["bleu"] for r in rows]
        ax.errorbar(x, y, yerr=[[r["bleu"] - r["bleu_low"] for r in rows],
                                [r["bleu_high"] - r["bleu"] for r in rows]],
                    marker="o", capsize=3, label=NAMES[model])
        for r in rows:
            ax.annotate(f"{r['steps']:,} steps", (r["minutes"], r["bleu"]),
                        textcoords="offset points", xytext=(6, -12), fontsize=8)
    ax.set_xscale("log")
    ax.set_xlim(budgets[0] / 1.25, budgets[-1] * 1.6)  # room for the last steps labels
    ax.set_xticks(budgets, [f"{b:g}" for b in budgets])
    ax.minorticks_off()
    ax.set_xlabel("training minutes (--time-limit), 2 CPU cores")
    ax.set_ylabel("test BLEU, greedy (tutorial normalization)")
    ax.set_title("When does the Transformer win? Same data, same split")
    ax.grid(alpha=0.3)
    ax.legend(loc="lower right")
    return fig


if __name__ == "__main__":
    raise SystemExit(main())
