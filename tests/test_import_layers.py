"""The package's layers, and the rule that holds them: a module imports only modules of its own
layer or the layers below, and no import chain comes back to where it started.

Read from the bottom up, each layer needs only what is under it:

    foundation   errors, files, the machine
    tools        text, data, masks, positions, figures, run folders, decoding, exports
    layers       attention, encoders, decoders, configs, tokenizers, schedules
    models       the models, translators and predictor, classify's data
    runs         a trained run loaded (config, vocabularies, model)
    figures      each package's plots (a plot of a run loads the run)
    training     the engine (common.training) and each package's train
    results      evaluation, export, classify's comparison
    commands     the command lines, demos, serving
    packages     each package's __init__, what users import

Imports inside functions count as much as those at the top: a cycle hidden in a function is
still a cycle. The AST is read, nothing is imported.
"""

from __future__ import annotations

import ast
import fnmatch
from collections.abc import Iterable, Mapping
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("common", "nmt_attention", "transformer", "classify")

# Lowest first. A module takes the first layer with a pattern it matches.
LAYERS: list[tuple[str, list[str]]] = [
    ("foundation", ["common", "common.errors", "common.files", "common.machine",
                    "common.keras_mends", "common.inputs"]),
    ("tools", ["common.text", "common.plain_text", "common.wordpiece", "common.data",
               "common.data.*", "common.config",
               "common.distribute", "common.xla", "common.dropout", "common.masks",
               "common.positional_encoding", "common.plotting", "common.images",
               "common.run_folder", "common.export", "common.decoding", "common.evaluation"]),
    ("layers", ["*.config", "*.attention", "*.cross_attention", "*.encoder", "*.decoder",
                "*.feed_forward", "*.optimizer", "*.schedule", "*.tokenizer", "*.vocabulary",
                "classify.pooling", "classify.bert", "classify.vit",
                "classify.text_classifier"]),
    ("models", ["*.model", "*.translator", "*.reference", "*.context", "*.architecture",
                "classify.predictor", "classify.data", "transformer.ctranslate2_engine"]),
    ("runs", ["*.runs"]),
    ("figures", ["*.plots"]),
    ("training", ["common.training", "common.translation_training", "*.train"]),
    ("results", ["*.evaluate", "*.export", "transformer.ctranslate2_export",
                 "classify.compare"]),
    ("commands", ["common.serving", "common.explorer_file", "common.cli", "common.lines",
                  "common.demo", "*.cli",
                  "*.demo", "*.__main__"]),
    ("packages", list(PACKAGES[1:])),
]


def modules(root: Path = ROOT) -> dict[str, Path]:
    """Every module of the packages, by dotted name (a package by its own name)."""
    found = {}
    for package in PACKAGES:
        for path in (root / package).rglob("*.py"):
            parts = path.relative_to(root).with_suffix("").parts
            found[".".join(parts[:-1] if parts[-1] == "__init__" else parts)] = path
    return found


def imports(known: Iterable[str], root: Path = ROOT) -> dict[str, set[str]]:
    """``{module: the package modules it imports}``, at any depth of its code."""
    known = set(known)

    def owner(name: str) -> str | None:
        while name and name not in known:
            name = name.rpartition(".")[0]
        return name or None

    graph = {}
    for name, path in modules(root).items():
        targets = set()
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                targets.update(alias.name for alias in node.names)
            elif isinstance(node, ast.ImportFrom):
                if node.level:  # relative: resolved against the importing module's package
                    parts = name.split(".")
                    base = parts[: len(parts) - node.level + (path.name == "__init__.py")]
                    module = ".".join([*base, *([node.module] if node.module else [])])
                else:
                    module = node.module
                targets.update(f"{module}.{alias.name}" for alias in node.names)
        graph[name] = {o for t in targets if t.split(".")[0] in PACKAGES
                       if (o := owner(t)) and o != name}
    return graph


def layer_of(module: str) -> int | None:
    for index, (_, patterns) in enumerate(LAYERS):
        if any(fnmatch.fnmatchcase(module, pattern) for pattern in patterns):
            return index
    return None


def cycles(graph: Mapping[str, set[str]]) -> list[list[str]]:
    """The import cycles of ``graph`` (its strongly connected components of 2 or more)."""
    index, low, stack, on_stack, found = {}, {}, [], set(), []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for other in graph.get(node, ()):
            if other not in index:
                visit(other)
                low[node] = min(low[node], low[other])
            elif other in on_stack:
                low[node] = min(low[node], index[other])
        if low[node] == index[node]:
            component = []
            while True:
                other = stack.pop()
                on_stack.discard(other)
                component.append(other)
                if other == node:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return found


def violations(graph: Mapping[str, set[str]]) -> list[str]:
    """Every break of the contract, one line each: a module in no layer, an import from a
    higher layer, a cycle."""
    problems = [f"{m}: in no layer of tests/test_import_layers.py; add it to one"
                for m in sorted(graph) if layer_of(m) is None]
    for module in sorted(graph):
        for target in sorted(graph[module]):
            here, there = layer_of(module), layer_of(target)
            if here is not None and there is not None and there > here:
                problems.append(f"{module} ({LAYERS[here][0]}) imports {target} "
                                f"({LAYERS[there][0]}), a higher layer")
    problems += [f"import cycle: {' -> '.join(c)}" for c in cycles(graph)]
    return problems


@pytest.fixture(scope="module")
def graph():
    return imports(modules())


def test_every_import_goes_down_and_none_comes_back(graph):
    assert violations(graph) == []


def test_the_reader_sees_imports_inside_functions(graph):
    # transformer.cli imports transformer.demo inside a function only (so that `--help`
    # answers before TensorFlow loads): that edge must be in the graph.
    source = (ROOT / "transformer" / "cli.py").read_text()
    assert "\nfrom transformer.demo" not in source and "from transformer.demo" in source
    assert "transformer.demo" in graph["transformer.cli"]


def test_an_upward_import_is_caught(graph):
    # classify.compare reaches nothing that imports common.evaluation: no cycle, only the
    # upward import to flag.
    injected = {**graph, "common.evaluation": graph["common.evaluation"] | {"classify.compare"}}
    assert violations(injected) == [
        "common.evaluation (tools) imports classify.compare (results), a higher layer"]


def test_a_cycle_within_one_layer_is_caught(graph):
    # Both in "models", so only the cycle can flag it: transformer.translator already
    # imports transformer.model.
    assert "transformer.model" in graph["transformer.translator"]
    injected = {**graph,
                "transformer.model": graph["transformer.model"] | {"transformer.translator"}}
    assert violations(injected) == [
        "import cycle: transformer.model -> transformer.translator"]


def test_a_module_in_no_layer_is_caught(graph):
    injected = {**graph, "transformer.misc": {"common.errors"}}
    assert violations(injected) == [
        "transformer.misc: in no layer of tests/test_import_layers.py; add it to one"]


def test_a_function_level_import_is_read_from_source(tmp_path):
    (tmp_path / "common").mkdir()
    (tmp_path / "common" / "__init__.py").write_text("")
    (tmp_path / "common" / "errors.py").write_text(
        "def f():\n    from common.text import tokenize\n    return tokenize\n")
    (tmp_path / "common" / "text.py").write_text("from common.errors import f\n")
    (tmp_path / "common" / "__init__.py").write_text("from .files import x\n")  # relative
    (tmp_path / "common" / "files.py").write_text("from . import errors\n")
    for package in PACKAGES[1:]:
        (tmp_path / package).mkdir()
    found = imports(modules(tmp_path), tmp_path)
    assert found["common.errors"] == {"common.text"}
    assert found["common"] == {"common.files"} and found["common.files"] == {"common.errors"}
    assert cycles(found) == [["common.errors", "common.text"]]
