"""Export: a SavedModel taking raw strings and returning translations, and a .keras file.

The signatures are those of :mod:`common.export` (``serving_default``,
``translate_with_attention`` with the last decoder layer's cross-attention (batch, heads,
steps, source_len), ``translate_beam``).

The tokenizers are tensorflow-text ops, so a process that loads the SavedModel must
``import tensorflow_text`` first (``saved_model_cli``: see :func:`saved_model_cli_command`).
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

from common.errors import UsageError
from common.export import TranslatorModule, write_export
from transformer.ctranslate2_export import export_ctranslate2
from transformer.translator import Translator

__all__ = ["export", "saved_model_cli_command"]


def export(translator: Translator, out_dir: str | os.PathLike, format: str = "savedmodel",
           quantization: str | None = None) -> Path:
    """Writes ``out_dir/saved_model``, ``out_dir/model.keras`` and the tokenizers
    (``tokenizer/source.json``, ``target.json``); returns the SavedModel's path. With
    ``format="ctranslate2"``, CTranslate2's model folder ``out_dir/ctranslate2`` instead
    (``quantization`` ``"float32"`` or ``"int8"``:
    :func:`transformer.ctranslate2_export.export_ctranslate2`); returns its path."""
    if format == "ctranslate2":
        return export_ctranslate2(translator, Path(out_dir) / "ctranslate2",
                                  quantization or "float32")
    if format != "savedmodel":
        raise UsageError(f"format must be 'savedmodel' or 'ctranslate2', received {format!r}")
    translator = translator.for_serving()
    module = TranslatorModule(translator)
    return write_export(out_dir, module, module.signatures(), translator.model, {
        f"tokenizer/{name}.json": json.dumps(tokenizer.vocabulary.tokens, ensure_ascii=False)
        for name, tokenizer in (("source", translator.source_tokenizer),
                                ("target", translator.target_tokenizer))})


def saved_model_cli_command() -> list[str]:
    """``saved_model_cli`` with tensorflow-text's ops registered first."""
    code = ("import sys, tensorflow_text; "
            "from tensorflow.python.tools.saved_model_cli import main; sys.exit(main())")
    return [sys.executable, "-c", code]
