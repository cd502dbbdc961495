"""Why attention: the seq2seq model without attention against the attention GRU, by length.

Both models have the GRU tutorial's settings (units 256, vocabulary 5000, batch 64, the
tutorial's text standardization), the same seed and the same training budget, and train
only on pairs whose Spanish has at most ``--max-words`` words (15). They are then scored
(BLEU in the tutorial's normalization, 95% bootstrap interval over sentences) on

* the test split by source length: 1-5, 6-10, 11-15 words;
* real held-out pairs longer than any training sentence (16+ words);
* test sentences joined two or more at a time into inputs of 16-25 and 26-40 words.

The second half, unknown-word replacement: the attention model may write ``[UNK]``, which is
replaced with the source word it attends to most (``Translator(replace_unknown=True)``);
BLEU on the test split with and without, and examples where it changed the output.

    python bench/experiments/why_attention.py --data ../shared/data/spa-eng/spa_train.txt
    python bench/experiments/why_attention.py --quick      # seconds, generated data
"""

from __future__ import annotations

from pathlib import Path

import lab


def main(argv=None) -> int:
    parser = lab.experiment_parser(__doc__.split("\n")[0])
    args = lab.parse(parser, argv)
    from common.data.corpus import corpus_of
    from common.evaluation import translate_all
    from nmt_attention.config import Config
    from nmt_attention.train import load_translator, train

    work = lab.work_folder(args, "gru")
    pairs = lab.LengthSplit.of(args, work)
    cut, data, seed = pairs.cut, pairs.data, args.seeds[0]
    if args.quick:
        base = Config.tiny().replace(data=str(data), seed=seed, epochs=2)
    else:
        base = Config.tutorial().replace(data=str(data), seed=seed, epochs=args.epochs)
    runs = {}
    for name, use_attention in (("attention", True), ("no attention", False)):
        folder = work / name.replace(" ", "-")
        runs[name] = lab.trained(folder, train, base.replace(use_attention=use_attention),
                                 lambda m: print(m, flush=True))

    test_es, test_en = corpus_of(base).part("test")
    sets = pairs.length_sets(test_es, test_en, args.per_bucket, seed)

    results: dict[str, list[dict]] = {}
    for name, run in runs.items():
        translator = load_translator(run)
        results[name] = []
        for bucket, sources, references in sets:
            row = {"bucket": bucket, **lab.bleu_with_interval(
                translate_all(translator, sources), references, seed=seed)}
            results[name].append(row)
            lab.emit({"experiment": "why_attention", "model": name, **row})

    # Unknown-word replacement, on the whole test split (its first --per-bucket * 2 pairs).
    limit = 2 * args.per_bucket
    plain = translate_all(load_translator(runs["attention"]), test_es[:limit])
    replaced = translate_all(load_translator(runs["attention"], replace_unknown=True),
                             test_es[:limit])
    unknown = {"without": lab.bleu_with_interval(plain, test_en[:limit], seed=seed),
               "with": lab.bleu_with_interval(replaced, test_en[:limit], seed=seed)}
    changed = [i for i in range(len(plain)) if plain[i] != replaced[i]]
    for key, row in unknown.items():
        lab.emit({"experiment": "replace_unknown", "replacement": key,
                  "changed_sentences": len(changed), **row})

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
        cells = [f"{r[i]['bleu']:.1f} [{r[i]['bleu_low']:.1f}, {r[i]['bleu_high']:.1f}]"
                 for r in results.values()]
        drop = results["attention"][i]["bleu"] - results["no attention"][i]["bleu"]
        rows.append([bucket, results["attention"][i]["sentences"], *cells, f"{drop:+.1f}"])
    body = ("Two GRU encoder-decoders, the same in all but attention, trained with the same "
            f"budget on pairs of at most {cut} Spanish words; BLEU (tutorial normalization) "
            "with a 95% bootstrap interval over sentences. \"real\": held-out pairs longer than "
            "any training sentence; \"joined\": test sentences joined into longer inputs.\n\n"
            + lab.markdown_table(["source words", "sentences", *[f"BLEU, {n}" for n in results],
                                  "attention minus none"], rows)
            + "\n![BLEU by source length](why_attention.png)\n\n"
            "## Unknown-word replacement\n\nThe attention model's test split "
            f"({unknown['with']['sentences']} pairs), greedy: `[UNK]` replaced with the source "
            "word it attends to most, against the tutorial's decoding, which never writes "
            "`[UNK]`.\n\n"
            + lab.markdown_table(["decoding", "BLEU [95% interval]", "chrF"], [
                [key + " replacement",
                 f"{row['bleu']:.2f} [{row['bleu_low']:.2f}, {row['bleu_high']:.2f}]",
                 f"{row['chrf']:.2f}"] for key, row in unknown.items()])
            + f"\nThe replacement changed {len(changed)} of {len(texts[2])} translations. "
            "Examples:\n\n"
            + lab.markdown_table(["Spanish", "reference", "without", "with"], [
                [texts[0][i], texts[1][i], texts[2][i], texts[3][i]] for i in changed[:8]]))
    page = lab.results_page(out, "why_attention", "Why attention: BLEU by source length",
                            body, [seed])
    print(page)


if __name__ == "__main__":
    raise SystemExit(main())
