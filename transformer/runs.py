"""A trained Transformer run, loaded: its config, tokenizers, model and translator.

What training writes into a run folder (``common.run_folder``), read back for translating,
evaluating, plotting, exporting and serving. Below training in the package's layers:
loading a run never needs the training code.
"""

from __future__ import annotations

import os

from common.run_folder import RunFolder
from transformer.config import Config
from transformer.model import Transformer, build_model
from transformer.tokenizer import WordPieceTokenizer
from transformer.translator import Translator

__all__ = ["load_model", "load_run", "load_translator"]


def load_run(run_dir: str | os.PathLike) -> tuple[Config, WordPieceTokenizer,
                                                  WordPieceTokenizer]:
    """The config and both tokenizers of a run folder."""
    run = RunFolder(run_dir)
    config = run.read_config(Config)
    return config, *run.read_pair("tokenizer", lambda pieces: WordPieceTokenizer(
        pieces, config.text_mode))


def load_model(run_dir: str | os.PathLike, which: str = "best") -> Transformer:
    """The run's Transformer with its best (or last, with its optimizer) weights."""
    config, source, target = load_run(run_dir)
    return RunFolder(run_dir).load_model(
        which, lambda: build_model(config, source.size, target.size))


def load_translator(run_dir: str | os.PathLike, jit_compile: bool = False) -> Translator:
    """The run's best model with its tokenizers; ``jit_compile``: see ``Translator``."""
    config, source, target = load_run(run_dir)
    return Translator(load_model(run_dir), source, target, config.max_length,
                      config.max_output_tokens, jit_compile=jit_compile)
