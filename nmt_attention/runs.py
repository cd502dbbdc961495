"""A trained GRU translator run, loaded: its config, vocabularies, model and translator.

What training writes into a run folder (``common.run_folder``), read back for translating,
evaluating, plotting, exporting and serving. Below training in the package's layers:
loading a run never needs the training code.
"""

from __future__ import annotations

import os

from common.run_folder import RunFolder
from common.text import Vocabulary
from nmt_attention.config import Config
from nmt_attention.model import Seq2SeqModel, build_model
from nmt_attention.translator import Translator

__all__ = ["load_model", "load_run", "load_translator"]


def load_run(run_dir: str | os.PathLike) -> tuple[Config, Vocabulary, Vocabulary]:
    """The config and both vocabularies of a run folder."""
    run = RunFolder(run_dir)
    config = run.read_config(Config)
    return config, *run.read_pair("vocabulary", lambda words: Vocabulary(words,
                                                                         config.text_mode))


def load_model(run_dir: str | os.PathLike, which: str = "best") -> Seq2SeqModel:
    """The run's model with its best (or last, with its optimizer) weights."""
    config, source, target = load_run(run_dir)
    return RunFolder(run_dir).load_model(
        which, lambda: build_model(config, source.size, target.size))


def load_translator(run_dir: str | os.PathLike, replace_unknown: bool = False) -> Translator:
    """The run's best model with its vocabularies, translating text (``replace_unknown``:
    see :class:`~nmt_attention.translator.Translator`)."""
    config, source, target = load_run(run_dir)
    return Translator(load_model(run_dir), source, target, config.max_source_words,
                      config.max_output_tokens, replace_unknown=replace_unknown)
