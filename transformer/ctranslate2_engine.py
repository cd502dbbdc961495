"""The Transformer translating through CTranslate2, without TensorFlow: the export of
``python -m transformer export --format ctranslate2`` (:mod:`transformer.ctranslate2_export`)
and the run's WordPiece vocabularies, read with plain Python (:mod:`common.wordpiece`).

:class:`CTranslate2Translator` keeps :class:`transformer.translator.Translator`'s contract
where the command lines and the evaluation use it (``run``, ``translate``, ``source_limit``,
``source_lengths``): the same pieces in, the same greedy tokens out (tested on every test
sentence), [UNK], [PAD] and [START] never written, each row stopped at its own length limit
(``min(max_output_tokens, 2 * source pieces + 10)``), an empty translation for a line with no
word the model knows (not decoded at all: no output tokens, where TensorFlow's decodes it and
throws the result away). Beam search asks CTranslate2 for the ``beam_width`` likeliest
finished hypotheses (no length penalty of its own) and keeps the best by the package's
(``log P / ((5 + length) / 6) ** 0.6``, Wu et al. 2016): the package's beam search
(:func:`common.decoding.beam_search_loop`) is the same search, so the translations are the
same (tested on every test sentence). Sampling draws each token here, from the logits
CTranslate2 gives for the tokens drawn so far (its own sampler's seed is the process's, not
a call's): the package's rule (softmax of logits / temperature among the ``top_k``
likeliest), reproducible for a seed, with numpy's generator, so a seed draws other tokens
than TensorFlow's does. No
attention maps: the explorer keeps TensorFlow's.

Importing this module imports no TensorFlow (``ctranslate2`` and ``regex`` only).
"""

from __future__ import annotations

import json
import os
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from common.errors import RunError, UsageError
from common.inputs import check_sentences, check_settings
from common.machine import decoding_threads
from common.plain_text import check_mode
from common.wordpiece import WordPiece

__all__ = ["COMPUTE_TYPES", "CTranslate2Translator", "ctranslate2_folder"]

COMPUTE_TYPES = ("float32", "int8")
LENGTH_PENALTY = 0.6  # transformer.model.Transformer.beam_search's
_BANNED = ("[PAD]", "[UNK]", "[START]")  # what the package never writes


def ctranslate2_folder(run_or_folder: str | os.PathLike) -> Path:
    """The CTranslate2 model folder of a run (``RUN/export/ctranslate2``), or the folder
    itself.

    Raises:
        RunError: neither holds a CTranslate2 export, or a run's export is older than its
            best weights (it trained on since): the message says how to export it.
    """
    path = Path(run_or_folder)
    export = f"python -m transformer export --run {path} --format ctranslate2"
    for folder in (path, path / "export" / "ctranslate2", path / "ctranslate2"):
        if (folder / "model.bin").is_file() and (folder / "translator.json").is_file():
            break
    else:
        raise RunError(f"no CTranslate2 export in {path}: make one with {export}")
    weights = path / "checkpoints" / "best.weights.h5"
    if folder != path and weights.is_file() and \
            weights.stat().st_mtime > (folder / "model.bin").stat().st_mtime:
        raise RunError(f"the CTranslate2 export in {folder} is older than the run's best "
                       f"weights (it trained on since): export it again with {export}")
    return folder


class CTranslate2Translator:
    """Translates batches of strings with a CTranslate2 export: greedy, beam or sampled.

    Args:
        folder: a run folder with ``export/ctranslate2``, or the model folder itself.
        compute_type: ``"float32"`` or ``"int8"`` (default: what the export was written
            as); an int8 export runs as int8 whatever is asked.
        batches: batches translated at once (default: ``common.machine.decoding_threads``,
            the cores this process may use): ``translate`` and ``evaluate`` hand batches
            over side by side, one a core, as the TensorFlow path does; each batch's
            matrix products run on one core.

    Example:
        >>> translator = CTranslate2Translator("runs/transformer/tutorial")
        >>> translator.translate(["¿Todavía está en casa?"])
        ['Is he still at home?']
    """

    def __init__(self, folder: str | os.PathLike, compute_type: str | None = None,
                 batches: int | None = None):
        try:
            import ctranslate2
        except ImportError:
            raise UsageError("--engine ctranslate2 needs the ctranslate2 package: pip install "
                             "ctranslate2") from None
        self.folder = ctranslate2_folder(folder)
        try:
            settings = json.loads((self.folder / "translator.json").read_text("utf-8"))
            source = json.loads((self.folder / "source_vocabulary.json").read_text("utf-8"))
            target = json.loads((self.folder / "target_vocabulary.json").read_text("utf-8"))
            mode = check_mode(settings["text_mode"])
            self.max_source_tokens = int(settings["max_source_tokens"])
            self.max_output_tokens = int(settings["max_output_tokens"])
            quantization = settings.get("quantization", "float32")
        except (OSError, ValueError, KeyError, TypeError) as error:
            raise RunError(f"{self.folder} is a damaged CTranslate2 export ({error}); export "
                           "it again") from None
        if compute_type not in (None, *COMPUTE_TYPES):
            raise UsageError(f"compute type must be one of {COMPUTE_TYPES}, received "
                             f"{compute_type!r}")
        # int8 weights stay int8: asked for float32 they would compute with the rounding.
        self.compute_type = "int8" if quantization == "int8" else compute_type or "float32"
        self.source = WordPiece(source, mode)
        self.target = WordPiece(target, mode)
        try:
            self.model = ctranslate2.Translator(
                str(self.folder), device="cpu", compute_type=self.compute_type,
                inter_threads=batches or decoding_threads(), intra_threads=1)
        except RuntimeError as error:
            raise RunError(f"CTranslate2 cannot load {self.folder} ({error}); export it "
                           "again") from None

    @property
    def source_limit(self) -> int:
        """Source pieces kept; a longer sentence is cut to its first ones."""
        return self.max_source_tokens - 2

    def source_lengths(self, texts: Sequence[str]) -> list[int]:
        """Pieces in each sentence, before the cut to ``source_limit``."""
        return [len(self.source.pieces(text)) for text in texts]

    def translate(self, texts: Sequence[str], temperature: float = 0.0, top_k: int = 0,
                  seed: int = 0, beam_width: int = 1) -> list[str]:
        """Translations of ``texts`` as strings (see :meth:`run`)."""
        return [t.decode("utf-8") for t in self.run(texts, temperature, top_k, seed,
                                                    beam_width)["translation"]]

    def run(self, texts: Sequence[str], temperature: float = 0.0, top_k: int = 0,
            seed: int = 0, beam_width: int = 1) -> dict[str, np.ndarray]:
        """Translates a batch: ``translation`` (UTF-8 bytes a row, as the TensorFlow
        translator returns them), ``translated`` (bool), ``output_tokens`` and
        ``source_tokens`` (lists of pieces a row).

        Raises:
            TypeError: ``texts`` is not a list of strings.
            InputError: a setting out of its range (``common.inputs.check_settings``).
        """
        texts = check_sentences(texts)
        check_settings(temperature, top_k, seed, beam_width)
        sources = [self.source.encode(text, self.source_limit) for text in texts]
        known = [self.source.has_known_word(pieces) for pieces in sources]
        limits = [min(self.max_output_tokens, 2 * len(pieces) + 10) for pieces in sources]
        rows = [i for i, ok in enumerate(known) if ok]
        outputs: list[list[str]] = [[] for _ in texts]
        if rows:
            decoded = self._decode([sources[i] for i in rows], [limits[i] for i in rows],
                                   temperature, top_k, seed, beam_width, rows)
            for i, tokens in zip(rows, decoded, strict=True):
                outputs[i] = tokens
        translations = [self.target.decode(tokens).encode("utf-8") if ok else b""
                        for tokens, ok in zip(outputs, known, strict=True)]
        return {"translation": np.array(translations, dtype=object),
                "translated": np.array(known, dtype=bool),
                "output_tokens": outputs, "source_tokens": sources}

    def _decode(self, sources, limits, temperature, top_k, seed, beam_width, rows):
        """Each row's tokens (no [END]), cut to its own limit; ``rows``: their rows in the
        batch (what a sampled row's draws are seeded with)."""
        if temperature > 0 and beam_width == 1:
            return self._sample(sources, limits, temperature, top_k, seed, rows)
        # min_decoding_length 0: [END] may come first (an empty translation), as in the package.
        options = dict(max_decoding_length=max(limits), min_decoding_length=0,
                       disable_unk=True, suppress_sequences=[[t] for t in _BANNED if t != "[UNK]"])
        if beam_width > 1:
            # A beam at its limit ranks what it has: rows of one limit searched together, so
            # a row's search is the one it has alone (greedy needs no such care: its first
            # tokens are the same whatever the limit).
            chosen = [None] * len(sources)
            for limit in sorted(set(limits)):
                rows = [i for i, n in enumerate(limits) if n == limit]
                results = self.model.translate_batch(
                    [sources[i] for i in rows], beam_size=beam_width,
                    num_hypotheses=beam_width, length_penalty=0, return_scores=True,
                    return_end_token=True, **{**options, "max_decoding_length": limit})
                for i, result in zip(rows, results, strict=True):
                    chosen[i] = self._best(result)
        else:
            results = self.model.translate_batch(sources, beam_size=1, **options)
            chosen = [result.hypotheses[0] for result in results]
        return [tokens[:limit] for tokens, limit in zip(chosen, limits, strict=True)]

    def _sample(self, sources, limits, temperature, top_k, seed, rows):
        """Rows sampled a token a step (all rows together), each stopped at [END] or its
        limit; the batch's row i draws from its own generator, seeded by ``(seed, i)``: its
        tokens do not depend on the other rows (TensorFlow's draws are a function of the
        seed, the step and the row too). Each step runs the decoder over the prefix again:
        a line costs the square of its length, which greedy and beam do not."""
        generators = [np.random.default_rng([seed, row]) for row in rows]
        banned = [self.target.ids[token] for token in _BANNED]
        outputs: list[list[str]] = [[] for _ in sources]
        live, step = list(range(len(sources))), 0
        while live:
            results = self.model.translate_batch(
                [sources[i] for i in live], target_prefix=[outputs[i] for i in live],
                beam_size=1, max_decoding_length=step + 1, min_decoding_length=0,
                return_logits_vocab=True)
            still = []
            for i, result in zip(live, results, strict=True):
                logits = np.asarray(result.logits[0][-1], dtype=np.float64)
                logits[banned] = -np.inf
                token = self.target.tokens[_draw(logits, temperature, top_k, generators[i])]
                if token != "[END]":
                    outputs[i].append(token)
                    if len(outputs[i]) < limits[i]:
                        still.append(i)
            live, step = still, step + 1
        return outputs

    @staticmethod
    def _best(result) -> list[str]:
        """The hypothesis with the best ``log P / ((5 + length) / 6) ** 0.6``, its length
        counting [END] as the package's beam search does."""
        def normalized(index):
            hypothesis, score = result.hypotheses[index], result.scores[index]
            return score / ((5.0 + len(hypothesis)) / 6.0) ** LENGTH_PENALTY

        best = result.hypotheses[max(range(len(result.hypotheses)), key=normalized)]
        return best[:-1] if best and best[-1] == "[END]" else best


def _draw(logits: np.ndarray, temperature: float, top_k: int,
          rng: np.random.Generator) -> int:
    """A token of softmax(logits / temperature) among the ``top_k`` likeliest (0: all); a
    temperature under 1e-6 counts as 1e-6 (as ``common.decoding.choose_next``)."""
    scaled = logits / max(temperature, 1e-6)
    if 0 < top_k < len(scaled):
        scaled = np.where(scaled >= np.partition(scaled, -top_k)[-top_k], scaled, -np.inf)
    probabilities = np.exp(scaled - scaled.max())
    return int(rng.choice(len(scaled), p=probabilities / probabilities.sum()))
