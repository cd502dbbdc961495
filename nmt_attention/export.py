"""Export of the GRU translator: a SavedModel that takes raw strings and returns
translations (the signatures of :mod:`common.export`), and a ``.keras`` file.

Only core TensorFlow ops are inside, so ``saved_model_cli`` and TF Serving load it without
tensorflow-text.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

from common.export import TranslatorModule, write_export
from nmt_attention.translator import Translator

__all__ = ["export"]


def export(translator: Translator, out_dir: str | os.PathLike) -> Path:
    """Writes ``out_dir/saved_model``, ``out_dir/model.keras`` and the vocabularies
    (``vocabulary/source.json``, ``target.json``); returns the SavedModel's path."""
    module = TranslatorModule(translator)
    return write_export(out_dir, module, module.signatures(), translator.model, {
        f"vocabulary/{name}.json": json.dumps(vocabulary.tokens, ensure_ascii=False)
        for name, vocabulary in (("source", translator.source_vocabulary),
                                 ("target", translator.target_vocabulary))})
