"""What heads do: attention entropy per layer and head, BLEU with each head removed, and how
often attention lands on the word a translation comes from.

1. Entropy: for the sinusoidal Transformer of ``positions.py`` (real data), the mean entropy
   (bits) of every head's attention over real key positions, teacher-forced on test pairs:
   encoder self-attention, decoder (causal) self-attention, cross-attention. Low: the head
   looks at one or two positions; high: it spreads out (log2 of the keys is uniform).
2. Ablation: BLEU on test pairs with one head removed at a time (its slice of the output
   projection zeroed, so it adds nothing to the layer's output), against the full model.
3. Alignment: a GRU and a Transformer trained on the generated corpus, whose word alignments
   are known; teacher-forced, does each English word's strongest cross-attention fall on a
   Spanish word it translates? Alignment error rate (AER, Och and Ney 2003, with the gold
   links as sure links and one predicted link per English word) for the GRU and for each
   Transformer layer (its heads averaged).

    python bench/experiments/heads.py --data ../shared/data/spa-eng/spa_train.txt
    python bench/experiments/heads.py --quick      # seconds, generated data
"""

from __future__ import annotations

from pathlib import Path

import lab
import numpy as np

KINDS = ("encoder self", "decoder self", "cross")


def attention_layers(model) -> dict[str, list]:
    """The MultiHeadAttention layers of a Transformer, by kind, lowest layer first."""
    return {
        "encoder self": [layer.self_attention.attention for layer in model.encoder.encoder_layers],
        "decoder self": [layer.self_attention.attention for layer in model.decoder.decoder_layers],
        "cross": [layer.cross_attention.attention for layer in model.decoder.decoder_layers],
    }


def entropies(model, source_ids, target_in) -> dict[str, np.ndarray]:
    """Mean attention entropy in bits, (layers, heads) per kind, over the real query rows,
    with ``(source_ids, target_in)`` teacher-forced. The weights are caught on their way
    out of each layer's ``attend`` (eager only)."""
    caught: dict[str, list] = {kind: [] for kind in KINDS}
    layers = attention_layers(model)
    originals = []
    for kind, group in layers.items():
        for layer in group:
            original = layer.attend

            def attend(*args, _original=original, _kind=kind, **kwargs):
                out, weights = _original(*args, **kwargs)
                caught[_kind].append(weights.numpy())
                return out, weights

            object.__setattr__(layer, "attend", attend)
            originals.append((layer, original))
    try:
        model((source_ids, target_in))
    finally:
        for layer, original in originals:
            object.__setattr__(layer, "attend", original)
    source_real = source_ids.numpy() != 0  # (batch, source_len)
    target_real = target_in.numpy() != 0  # (batch, target_len)
    rows = {"encoder self": source_real, "decoder self": target_real, "cross": target_real}
    result = {}
    for kind in KINDS:
        per_layer = []
        for weights in caught[kind]:  # (batch, heads, queries, keys)
            bits = -(weights * np.log2(np.clip(weights, 1e-12, None))).sum(-1)
            real = rows[kind][:, None, :]  # (batch, 1, queries)
            per_layer.append((bits * real).sum((0, 2)) / real.sum())
        result[kind] = np.array(per_layer)  # (layers, heads)
    return result


def teacher_batch(translator, spanish, english):
    """Source ids and decoder inputs (the references, shifted) of a Transformer translator."""
    import tensorflow as tf

    source = translator.source_tokenizer.encode(tf.constant(spanish)).to_tensor()
    target = translator.target_tokenizer.encode(tf.constant(english)).to_tensor()
    return source, target[:, :-1]


def ablation(translator, spanish, english, seed) -> list[dict]:
    """BLEU with each head removed in turn (and with none), on ``spanish``/``english``."""
    from common.evaluation import translate_all

    full = lab.bleu_with_interval(translate_all(translator, spanish), english, seed=seed)
    rows = [{"kind": "none", "layer": -1, "head": -1, **full}]
    for kind, group in attention_layers(translator.model).items():
        for index, layer in enumerate(group):
            kernel = layer.output_kernel
            saved = kernel.numpy()
            for head in range(saved.shape[0]):
                removed = saved.copy()
                removed[head] = 0.0
                kernel.assign(removed)
                score = lab.bleu_with_interval(translate_all(translator, spanish), english,
                                               resamples=0, seed=seed)
                rows.append({"kind": kind, "layer": index, "head": head, **score})
                lab.emit({"experiment": "head_ablation", **rows[-1],
                          "bleu_change": round(score["bleu"] - full["bleu"], 2)})
            kernel.assign(saved)
    return rows


def transformer_alignment(translator, pairs) -> list[dict]:
    """Per decoder layer (heads averaged): the share of English words whose first piece's
    strongest cross-attention falls on a piece of an aligned Spanish word, and the AER."""
    from nmt_attention.evaluate import alignment_error_rate

    source_tok, target_tok = translator.source_tokenizer, translator.target_tokenizer
    layers = translator.model.num_layers
    hits, predicted, gold, skipped = np.zeros(layers), 0, 0, 0
    for begin in range(0, len(pairs), 64):
        batch = pairs[begin : begin + 64]
        source, target_in = teacher_batch(translator, [p.spanish for p in batch],
                                          [p.english for p in batch])
        _, scores = translator.model((source, target_in), return_attention=True)
        scores = np.stack([s.numpy().mean(1) for s in scores])  # (layers, b, target, source)
        for row, pair in enumerate(batch):
            source_word = _piece_words(source_tok, pair.spanish_tokens)
            target_first = _first_pieces(target_tok, pair.english_tokens)
            if source_word is None or target_first is None:
                skipped += 1
                continue
            for e, first in enumerate(target_first):
                links = pair.sources_of(e)
                if not links:
                    continue
                predicted += 1
                gold += len(links)
                # Decoder row `first` predicts piece `first` (row 0 reads [START]); source
                # position 0 is [START], so piece p of the sentence sits at p + 1.
                looked = scores[:, row, first, 1 : len(source_word) + 1].argmax(-1)
                hits += [source_word[p] in links for p in looked]
    return [{"layer": i, "alignment_accuracy": round(hits[i] / max(predicted, 1), 4),
             "aer": alignment_error_rate(int(hits[i]), predicted, gold), "english_words": predicted,
             "pairs_skipped": skipped} for i in range(layers)]


def _pieces(tokenizer, words) -> list[int] | None:
    """How many pieces each of ``words`` becomes, or None if the sentence's pieces are not
    the words' pieces one after another."""
    import tensorflow as tf

    whole = tokenizer.encode(tf.constant([" ".join(words)])).row_lengths().numpy()[0] - 2
    each = tokenizer.encode(tf.constant(list(words))).row_lengths().numpy() - 2
    return [int(n) for n in each] if int(each.sum()) == int(whole) else None


def _piece_words(tokenizer, words) -> list[int] | None:
    counts = _pieces(tokenizer, words)
    return None if counts is None else [w for w, n in enumerate(counts) for _ in range(n)]


def _first_pieces(tokenizer, words) -> list[int] | None:
    counts = _pieces(tokenizer, words)
    return None if counts is None else [int(x) for x in np.cumsum([0] + counts[:-1])]


def gru_alignment(translator, pairs) -> dict:
    from nmt_attention.evaluate import alignment_accuracy

    scores = alignment_accuracy(translator, pairs)
    return {"alignment_accuracy": scores["alignment_accuracy_all"],
            "aer": scores["alignment_error_rate"]}


def main(argv=None) -> int:
    parser = lab.experiment_parser(__doc__.split("\n")[0])
    parser.set_defaults(epochs=12)
    parser.add_argument("--ablation-sentences", type=int, default=200,
                        help="test pairs each removal is scored on")
    args = lab.parse(parser, argv)
    from positions import transformer_runs

    from common.data.corpus import corpus_of
    from transformer.runs import load_run, load_translator

    seed = args.seeds[0]
    run = transformer_runs(args, kinds=("sinusoidal",))[0]["sinusoidal"]
    translator = load_translator(run)
    test_es, test_en = corpus_of(load_run(run)[0]).part("test")
    count = 16 if args.quick else args.ablation_sentences
    source, target_in = teacher_batch(translator, test_es[:256], test_en[:256])
    entropy = entropies(translator.model, source, target_in)
    for kind, table in entropy.items():
        for layer, row in enumerate(table):
            lab.emit({"experiment": "entropy", "kind": kind, "layer": layer,
                      "bits": [round(float(b), 3) for b in row]})
    ablated = ablation(translator, test_es[:count], test_en[:count], seed)
    alignment = _alignment(args, seed, run)
    _write(Path(args.out), entropy, ablated, alignment, count, seed)
    return 0


def _alignment(args, seed, transformer) -> dict:
    """Both translators trained on the generated corpus (the demo's presets, 8 epochs of 100
    steps), scored on its
    test split's gold alignments. With --quick: the tiny runs of positions.py and
    why_attention.py (trained on generated pairs too) on 60 generated pairs."""
    from common.data import generate_pairs, take
    from common.data.corpus import corpus_of
    from nmt_attention.config import Config as GruConfig
    from nmt_attention.runs import load_translator as load_gru
    from nmt_attention.train import train as train_gru
    from transformer.config import Config
    from transformer.runs import load_translator
    from transformer.train import train

    if args.quick:
        from why_attention import gru_runs

        gru = gru_runs(args)[0]["attention"]
        pairs = generate_pairs(60, seed=7)
    else:
        work = lab.work_folder(args, "alignment")
        gru = lab.trained(work / "gru", train_gru,
                          GruConfig.quick().replace(seed=seed, epochs=8), print)
        config = Config.quick().replace(seed=seed, epochs=8)
        transformer = lab.trained(work / "transformer", train, config, print)
        corpus = corpus_of(config)
        pairs = take(corpus.generated, corpus.splits.test)[:2000]
    result = {"gru": gru_alignment(load_gru(gru), pairs),
              "transformer": transformer_alignment(load_translator(transformer), pairs)}
    lab.emit({"experiment": "alignment", "model": "gru", **result["gru"]})
    for row in result["transformer"]:
        lab.emit({"experiment": "alignment", "model": "transformer", **row})
    return result


def _write(out, entropy, ablated, alignment, count, seed):
    from common.plotting import save_figure

    save_figure(entropy_figure(entropy), out / "heads_entropy.png")
    save_figure(ablation_figure(ablated), out / "heads_ablation.png")
    full = ablated[0]["bleu"]
    worst = sorted(ablated[1:], key=lambda r: r["bleu"])[:5]
    body = ("The Transformer of [positions](positions.md) with sinusoidal positions.\n\n"
            "## Entropy per layer and head\n\nMean entropy of each head's attention, in bits, "
            "teacher-forced on 256 test pairs (padding excluded).\n\n"
            "![entropy per layer and head](heads_entropy.png)\n\n"
            + lab.markdown_table(["attention", "layer", *[f"head {h + 1}" for h in
                                                           range(entropy['cross'].shape[1])]],
                                 [[kind, layer + 1, *[f"{b:.2f}" for b in row]]
                                  for kind, table in entropy.items()
                                  for layer, row in enumerate(table)])
            + f"\n## Removing one head at a time\n\nGreedy BLEU on the first {count} test "
            f"pairs: {full:.2f} with every head. The five removals that cost most:\n\n"
            + lab.markdown_table(["attention", "layer", "head", "BLEU", "change"],
                                 [[r["kind"], r["layer"] + 1, r["head"] + 1, f"{r['bleu']:.2f}",
                                   f"{r['bleu'] - full:+.2f}"] for r in worst])
            + "\n![BLEU change per removed head](heads_ablation.png)\n\n"
            "## Attention as alignment (generated corpus, gold links)\n\n"
            + lab.markdown_table(["model", "attention", "lands on an aligned word", "AER"],
                                 [["GRU", "cross-attention",
                                   f"{alignment['gru']['alignment_accuracy']:.3f}",
                                   f"{alignment['gru']['aer']:.3f}"]]
                                 + [["Transformer",
                                     f"layer {r['layer'] + 1} cross (heads averaged)",
                                     f"{r['alignment_accuracy']:.3f}", f"{r['aer']:.3f}"]
                                    for r in alignment["transformer"]]))
    print(lab.results_page(out, "heads", "What heads do", body, [seed]))


def entropy_figure(entropy: dict[str, np.ndarray]):
    from matplotlib.figure import Figure

    fig = Figure(figsize=(12, 3.8), layout="constrained")
    axes = fig.subplots(1, len(entropy))
    top = max(float(t.max()) for t in entropy.values())
    for ax, (kind, table) in zip(axes, entropy.items(), strict=True):
        image = ax.imshow(table, cmap="viridis", vmin=0, vmax=top, aspect="auto")
        for (layer, head), value in np.ndenumerate(table):
            ax.text(head, layer, f"{value:.1f}", ha="center", va="center", fontsize=8,
                    color="white" if value < top / 2 else "black")
        # Layers and heads counted from 1, as in every figure and page of the package.
        ax.set_xticks(range(table.shape[1]), labels=range(1, table.shape[1] + 1))
        ax.set_yticks(range(table.shape[0]), labels=range(1, table.shape[0] + 1))
        ax.set_xlabel("head")
        ax.set_ylabel("layer")
        ax.set_title(f"{kind}-attention")
    fig.colorbar(image, ax=axes, label="entropy, bits")
    fig.suptitle("Attention entropy per layer and head (low: focused, high: spread)")
    return fig


def ablation_figure(rows: list[dict]):
    from matplotlib.figure import Figure

    full = rows[0]["bleu"]
    fig = Figure(figsize=(12, 4.2), layout="constrained")
    axes = fig.subplots(1, len(KINDS), sharey=True)
    colors = ["tab:blue", "tab:orange", "tab:green", "tab:red", "tab:purple", "tab:brown"]
    for ax, kind in zip(axes, KINDS, strict=True):
        mine = [r for r in rows if r["kind"] == kind]
        ax.bar(range(len(mine)), [r["bleu"] - full for r in mine],
               color=[colors[r["layer"] % len(colors)] for r in mine])
        heads = max(r["head"] for r in mine) + 1
        layers = max(r["layer"] for r in mine) + 1
        ax.set_xticks([layer * heads + (heads - 1) / 2 for layer in range(layers)],
                      [f"layer {layer + 1}" for layer in range(layers)])
        ax.axhline(0, color="black", linewidth=0.8)
        ax.set_title(f"{kind}-attention")
        ax.set_xlabel(f"removed head ({heads} a layer)")
    axes[0].set_ylabel(f"BLEU change (full model: {full:.1f})")
    fig.suptitle("BLEU when one head is removed")
    return fig


if __name__ == "__main__":
    raise SystemExit(main())
