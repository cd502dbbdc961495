"""Why attention: the seq2seq model without attention against the attention GRU, by length.

Both models have the GRU tutorial's settings (units 256, vocabulary 5000, batch 64, the
tutorial's text standardization), the same seed and the same training budget, and train
only on pairs whose Spanish has at most ``--max-words`` words (15). They are then scored
(BLEU in the tutorial's normalization, 95% bootstrap interval over sentences) on

* the test split by source length: 1-5, 6-10, 11-15 words;
* real held-out pairs longer than any training sentence (16+ words);
* test sentences joined two or more at a time into inputs of 16-25 and 26-40 words.

A third model answers whether the no-attention model forgets long inputs or only learns
more slowly: the same model without attention trained to its own convergence (early stopping
on validation loss, patience 5, at most ``--converged-epochs``), beside the two trained for
the same budget.

The second half, unknown-word replacement: the attention model may write ``[UNK]``, which is
replaced with the source word it attends to most (``Translator(replace_unknown=True)``);
BLEU on the test split with and without, and examples where it changed the output.

    python bench/experiments/why_attention.py --data ../shared/data/spa-eng/spa_train.txt
    python bench/experiments/why_attention.py --quick      # seconds, generated data
"""

from __future__ import annotations

import re
from pathlib import Path

import lab

CONVERGED = "no attention, converged"


def gru_runs(args, log=lambda m: print(m, flush=True), converged: bool = False
             ) -> tuple[dict, lab.LengthSplit, object]:
    """The two runs (trained once, reused), with and without attention, their data and
    their shared config; ``converged``: also the model without attention trained to its
    own convergence."""
    from nmt_attention.config import Config
    from nmt_attention.train import train

    work = lab.work_folder(args, "gru")
    pairs = lab.LengthSplit.of(args, work)
    if args.quick:
        base = Config.tiny().replace(epochs=1)
    else:
        base = Config.tutorial().replace(epochs=args.epochs)
    base = base.replace(data=str(pairs.data), seed=args.seeds[0])
    runs = {name: lab.trained(work / name.replace(" ", "-"), train,
                              base.replace(use_attention=use_attention), log)
            for name, use_attention in (("attention", True), ("no attention", False))}
    if converged:
        until = base.replace(use_attention=False, epochs=args.converged_epochs,
                             patience=1 if args.quick else 5)
        runs[CONVERGED] = lab.trained(work / "no-attention-converged", train, until, log)
    return runs, pairs, base


def main(argv=None) -> int:
    parser = lab.experiment_parser(__doc__.split("\n")[0])
    parser.add_argument("--converged-epochs", type=int, default=None,
                        help="most epochs of the converged no-attention model (100; 2 with "
                        "--quick)")
    args = lab.parse(parser, argv)
    args.converged_epochs = args.converged_epochs or (2 if args.quick else 100)
    from common.data.corpus import corpus_of
    from common.evaluation import translate_all
    from nmt_attention.runs import load_translator

    runs, pairs, base = gru_runs(args, converged=True)
    cut, seed = pairs.cut, args.seeds[0]
    test_es, test_en = corpus_of(base).part("test")
    sets = pairs.length_sets(test_es, test_en, args.per_bucket, seed)

    translators = {name: load_translator(run) for name, run in runs.items()}
    results = lab.score_by_length(translators, sets,
                                  {"experiment": "why_attention", "name": "model"}, seed)

    # Unknown-word replacement, on the whole test split (its first --per-bucket * 2 pairs).
    limit = 2 * args.per_bucket
    plain = translate_all(translators["attention"], test_es[:limit])
    replaced = translate_all(load_translator(runs["attention"], replace_unknown=True),
                             test_es[:limit])
    unknown = {"without": lab.bleu_with_interval(plain, test_en[:limit], seed=seed),
               "with": lab.bleu_with_interval(replaced, test_en[:limit], seed=seed)}
    unknown["difference"] = lab.paired_difference(plain, replaced, test_en[:limit], seed=seed)
    # Names and numbers first among the examples: what the replacement is for.
    changed = sorted((i for i in range(len(plain)) if plain[i] != replaced[i]),
                     key=lambda i: not re.search(r"\d|\s[A-ZÁÉÍÓÚÑ]", test_es[i]))
    for key in ("without", "with"):
        lab.emit({"experiment": "replace_unknown", "replacement": key,
                  "changed_sentences": len(changed), **unknown[key]})
    lab.emit({"experiment": "replace_unknown", "replacement": "with minus without",
              **unknown["difference"]})

    _write(args, Path(args.out), results, sets, cut, unknown, changed,
           (test_es, test_en, plain, replaced), seed)
    return 0


def _write(args, out, results, sets, cut, unknown, changed, texts, seed):
    from common.plotting import save_figure

    names = [bucket for bucket, _, _ in sets]
    figure = lab.bucket_figure(
        names, results, "BLEU (tutorial normalization), 95% interval",
        f"Attention vs none: GRU encoder-decoders trained on sentences of 1-{cut} words",
        unseen_from=3)
    save_figure(figure, out / "why_attention.png")
    rows = []
    for i, bucket in enumerate(names):
        cells = [lab.bleu_cell(r[i]) for r in results.values()]
        drops = [results["attention"][i]["bleu"] - results[other][i]["bleu"]
                 for other in results if other != "attention"]
        rows.append([bucket, results["attention"][i]["sentences"], *cells,
                     *[f"{drop:+.1f}" for drop in drops]])
    converged = ""
    if CONVERGED in results:
        converged = (f" A third model, the one without attention trained to its own "
                     f"convergence (early stopping, at most {args.converged_epochs} epochs), "
                     "separates forgetting long inputs from learning more slowly.")
    body = ("GRU encoder-decoders, the same in all but attention, trained with the same "
            f"budget on pairs of at most {cut} Spanish words; BLEU (tutorial normalization) "
            f"with a 95% bootstrap interval over sentences.{converged} {lab.BUCKETS_NOTE}\n\n"
            + lab.markdown_table(["source words", "sentences", *[f"BLEU, {n}" for n in results],
                                  *[f"attention minus {n}" for n in results
                                    if n != "attention"]], rows)
            + "\n![BLEU by source length](why_attention.png)\n\n"
            "## Unknown-word replacement\n\nThe attention model's test split "
            f"({unknown['with']['sentences']} pairs), greedy: `[UNK]` replaced with the source "
            "word it attends to most, against the tutorial's decoding, which never writes "
            "`[UNK]`.\n\n"
            + lab.markdown_table(["decoding", "BLEU [95% interval]", "chrF"], [
                [key + " replacement",
                 f"{unknown[key]['bleu']:.2f} [{unknown[key]['bleu_low']:.2f}, "
                 f"{unknown[key]['bleu_high']:.2f}]", f"{unknown[key]['chrf']:.2f}"]
                for key in ("without", "with")])
            + "\nWith minus without, paired bootstrap over the same sentences: "
            f"{unknown['difference']['difference']:+.2f} BLEU "
            f"[{unknown['difference']['difference_low']:+.2f}, "
            f"{unknown['difference']['difference_high']:+.2f}]. The replacement changed "
            f"{len(changed)} of {len(texts[2])} translations. Examples, those with a number "
            "or a name first:\n\n"
            + lab.markdown_table(["Spanish", "reference", "without", "with"], [
                [texts[0][i], texts[1][i], texts[2][i], texts[3][i]] for i in changed[:8]]))
    page = lab.results_page(out, "why_attention", "Why attention: BLEU by source length",
                            body, [seed])
    print(page)


if __name__ == "__main__":
    raise SystemExit(main())
