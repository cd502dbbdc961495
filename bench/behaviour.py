"""Behaviour record: tiny fixed-seed runs of every tutorial, through the command lines and
the exported SavedModels only (the surfaces a refactoring must not change).

    python bench/behaviour.py record OUT.json      # before a change
    python bench/behaviour.py compare BEFORE.json  # after it: one JSON line a tutorial

Each tutorial runs in its own process: train --preset tiny, evaluate, translate/predict a
few inputs (greedy, beam, sampled), export, and the SavedModel's answers in a fresh
process. ``compare`` prints ``{"tutorial": ..., "same": true|false, ...}`` per tutorial;
numbers agree when within 1e-5 relative (float tolerance), strings exactly; timings
(``seconds``) are left out.
"""

from __future__ import annotations

import csv
import json
import math
import os
import subprocess
import sys
import tempfile
from pathlib import Path

SPANISH = ["Nosotros lo vendimos ayer.", "¿Quién no compró el coche rojo?", "Ella come."]
ENGLISH_TASK = ["the dog was chased by the old teacher", "the old teacher chased the dog"]

_SAVED_TRANSLATE = """
import json, sys, tensorflow as tf
try:
    import tensorflow_text  # noqa: F401 (the Transformer's export needs its ops)
except ImportError:
    pass
m = tf.saved_model.load(sys.argv[1])
texts = tf.constant(json.loads(sys.argv[2]))
out = {"greedy": [t.decode() for t in m.translate(texts)["translation"].numpy()],
       "beam": [t.decode() for t in
                m.translate_beam(texts, tf.constant(2))["translation"].numpy()]}
print(json.dumps(out))
"""

_SAVED_CLASSIFY = """
import json, sys, numpy as np, tensorflow as tf
m = tf.saved_model.load(sys.argv[1])
serve = m.signatures["serving_default"]
name = list(serve.structured_input_signature[1])[0]
x = json.loads(sys.argv[2]) if sys.argv[2].startswith("[") else np.load(sys.argv[2])
print(json.dumps(serve(**{name: tf.constant(x)})["probabilities"].numpy().tolist()))
"""


def _cli(module: str, *argv: str, stdin: str | None = None) -> str:
    done = subprocess.run([sys.executable, "-m", module, *argv], capture_output=True,
                          text=True, input=stdin, check=False,
                          env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2"})
    if done.returncode:
        raise SystemExit(f"{module} {' '.join(argv)} failed:\n{done.stderr[-3000:]}")
    return done.stdout


def _python(code: str, *argv: str):
    done = subprocess.run([sys.executable, "-c", code, *argv], capture_output=True, text=True,
                          check=True, env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2"})
    return json.loads(done.stdout.strip().splitlines()[-1])


def _history(run: Path) -> list[dict]:
    with open(run / "history.csv", newline="") as f:
        return [{k: float(v) for k, v in row.items() if v != ""} for row in csv.DictReader(f)]


def _last_json(text: str):
    """The JSON object a command printed last (on one line or indented over several)."""
    lines = text.strip().splitlines()
    start = max(i for i, line in enumerate(lines) if line.startswith("{"))
    return json.loads("\n".join(lines[start:]))


def _translator(module: str, root: Path) -> dict:
    run = root / module
    _cli(module, "train", "--preset", "tiny", "--run", str(run), "--epochs", "3")
    record = {"history": _history(run)}
    evaluate = ["evaluate", "--run", str(run), "--limit", "40"]
    record["evaluate"] = _last_json(_cli(module, *evaluate))
    record["greedy"] = _cli(module, "translate", "--run", str(run), *SPANISH).splitlines()
    record["beam"] = _cli(module, "translate", "--run", str(run), "--beam", "3",
                          *SPANISH).splitlines()
    record["sampled"] = _cli(module, "translate", "--run", str(run), "--temperature", "0.8",
                             "--seed", "3", *SPANISH).splitlines()
    saved = _cli(module, "export", "--run", str(run)).strip().splitlines()[-1]
    record["saved_model"] = _python(_SAVED_TRANSLATE, saved, json.dumps(SPANISH))
    return record


def _classifier(kind: str, root: Path) -> dict:
    run = root / f"classify-{kind}"
    _cli("classify", kind, "train", "--preset", "tiny", "--run", str(run))
    record = {"history": _history(run)}
    evaluation = _last_json(_cli("classify", kind, "evaluate", "--run", str(run)))
    record["evaluate"] = {k: v for k, v in evaluation.items() if k != "run"}
    saved = _cli("classify", kind, "export", "--run", str(run)).strip().splitlines()[-1]
    if kind == "vit":
        import numpy as np
        from sklearn.datasets import load_digits

        images = (load_digits().images[:4, :, :, None] / 16.0).astype("float32")
        path = root / "digits.npy"
        np.save(path, images)
        singles = [str(root / f"digit-{i}.npy") for i in range(len(images))]
        for single, image in zip(singles, images, strict=True):
            np.save(single, image)
        record["predict"] = _cli("classify", kind, "predict", "--run", str(run),
                                 *singles).splitlines()
        record["saved_model"] = _python(_SAVED_CLASSIFY, saved, str(path))
    else:
        record["predict"] = _cli("classify", kind, "predict", "--run", str(run),
                                 *ENGLISH_TASK).splitlines()
        record["saved_model"] = _python(_SAVED_CLASSIFY, saved, json.dumps(ENGLISH_TASK))
    return record


RECORDS = {
    "nmt_attention": lambda root: _translator("nmt_attention", root),
    "transformer": lambda root: _translator("transformer", root),
    "classify text": lambda root: _classifier("text", root),
    "classify bert": lambda root: _classifier("bert", root),
    "classify vit": lambda root: _classifier("vit", root),
}


def record() -> dict:
    with tempfile.TemporaryDirectory() as root:
        return {name: make(Path(root)) for name, make in RECORDS.items()}


def differences(before, after, where: str = "") -> list[str]:
    """Where ``after`` differs from ``before``: strings exactly, numbers within 1e-5."""
    if isinstance(before, dict) and isinstance(after, dict):
        if "seconds" in before:  # a timing, not behaviour
            before, after = ({k: v for k, v in d.items() if k != "seconds"}
                             for d in (before, after))
        found = [f"{where}/{k}: missing" for k in before if k not in after]
        found += [f"{where}/{k}: new" for k in after if k not in before]
        for key in before.keys() & after.keys():
            found += differences(before[key], after[key], f"{where}/{key}")
        return found
    if isinstance(before, list) and isinstance(after, list):
        if len(before) != len(after):
            return [f"{where}: {len(before)} items before, {len(after)} after"]
        return [d for i, (b, a) in enumerate(zip(before, after, strict=True))
                for d in differences(b, a, f"{where}[{i}]")]
    numbers = (int, float)
    if isinstance(before, numbers) and isinstance(after, numbers):
        if math.isclose(before, after, rel_tol=1e-5, abs_tol=1e-6):
            return []
    elif before == after:
        return []
    return [f"{where}: {before!r} -> {after!r}"]


def main(argv: list[str]) -> int:
    if len(argv) != 2 or argv[0] not in ("record", "compare"):
        print(__doc__, file=sys.stderr)
        return 2
    now = record()
    if argv[0] == "record":
        Path(argv[1]).write_text(json.dumps(now, indent=1, ensure_ascii=False) + "\n")
        print(json.dumps({"recorded": argv[1], "tutorials": list(now)}))
        return 0
    before = json.loads(Path(argv[1]).read_text())
    same = True
    for name in before:
        found = differences(before[name], now.get(name, {}), name)
        same &= not found
        print(json.dumps({"tutorial": name, "same": not found, "differences": found[:20]},
                         ensure_ascii=False))
    return 0 if same else 1


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
