"""The package declares what it needs: ``pip install .`` must give working commands."""

import re
import tomllib
from pathlib import Path

from packaging.utils import canonicalize_name

ROOT = Path(__file__).resolve().parents[1]
DEVELOPMENT_ONLY = {"pytest", "pytest-xdist", "execnet", "ruff", "hypothesis", "sortedcontainers",
                    "selenium"}


def _pins(lines) -> dict[str, str]:
    pins = {}
    for line in lines:
        line = line.split("#")[0].strip()
        if line:
            name, version = re.fullmatch(r"([A-Za-z0-9_.-]+)==(\S+)", line).groups()
            pins[canonicalize_name(name)] = version
    return pins


def test_the_lock_satisfies_the_ranges_the_package_declares():
    """pyproject.toml declares ranges (what the package works with), requirements.txt pins
    one version of each (what make installs and the tests run on): every declared package is
    pinned, inside its range; tensorflow-text within tensorflow's minor version."""
    from packaging.requirements import Requirement

    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    everything = project["dependencies"] + [
        r for extra in project["optional-dependencies"].values() for r in extra]
    declared = {canonicalize_name(r.name): r for r in map(Requirement, everything)}
    pinned = _pins((ROOT / "requirements.txt").read_text().splitlines())
    assert set(declared) <= set(pinned), set(declared) - set(pinned)
    for name, requirement in declared.items():
        assert requirement.specifier.contains(pinned[name]), (name, pinned[name],
                                                              str(requirement.specifier))
        assert "==" not in str(requirement.specifier), f"{name}: a range, not a pin"
    minor = ".".join(pinned["tensorflow"].split(".")[:2])
    assert pinned["tensorflow-text"].startswith(minor + ".")
    assert not declared["tensorflow"].specifier.contains(_next_minor(minor))
    assert not declared["tensorflow-text"].specifier.contains(_next_minor(minor))
    # Nothing the package does not import is declared (the rest are what these need).
    assert not set(declared) & (DEVELOPMENT_ONLY | {"pydantic-core", "anyio", "scipy",
                                                    "joblib", "threadpoolctl"})


def _next_minor(minor: str) -> str:
    major, number = minor.split(".")
    return f"{major}.{int(number) + 1}.0"


def test_console_scripts_point_at_the_command_lines():
    import importlib

    scripts = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["scripts"]
    assert set(scripts) == {"nmt-attention", "nmt-transformer", "nmt-classify"}
    for target in scripts.values():
        module, function = target.split(":")
        assert callable(getattr(importlib.import_module(module), function))


# Import names of the "tensorflow" extra's distributions where the two differ.
_IMPORT_NAMES = {"tensorflow-text": "tensorflow_text", "scikit-learn": "sklearn"}


def test_the_extra_the_commands_name_is_the_one_pyproject_declares():
    """common.cli.TENSORFLOW_EXTRA (what a command without TensorFlow reports as a missing
    extra rather than a bug) is pyproject.toml's "tensorflow" extra, by import name."""
    from common.cli import TENSORFLOW_EXTRA

    extra = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"][
        "optional-dependencies"]["tensorflow"]
    names = {re.match(r"[A-Za-z0-9_.-]+", requirement).group(0) for requirement in extra}
    assert TENSORFLOW_EXTRA == {_IMPORT_NAMES.get(name, name) for name in names}


_WITHOUT_TENSORFLOW = """
import runpy, sys
from common.cli import TENSORFLOW_EXTRA
for name in TENSORFLOW_EXTRA:  # unimportable, as where only the inference part is installed
    sys.modules[name] = None
module = sys.argv[1]
sys.argv = [module, *sys.argv[2:]]
runpy.run_module(module, run_name="__main__")
"""


def test_the_training_tutorials_without_tensorflow_say_what_to_install_in_one_line(tmp_path):
    import subprocess
    import sys

    install = ("which is not installed (the inference part alone is): pip install "
               "\"attention-tutorials[tensorflow]\"; python -m transformer translate --engine "
               "ctranslate2 runs without it")
    for argv, what in ((["classify", "--help"], "classify needs keras"),
                       (["classify", "text", "train", "--preset", "tiny"], "classify needs keras"),
                       (["nmt_attention", "train", "--preset", "tiny", "--run",
                         str(tmp_path / "run")], "this command needs tensorflow")):
        done = subprocess.run([sys.executable, "-c", _WITHOUT_TENSORFLOW, *argv],
                              capture_output=True, text=True, cwd=ROOT)
        assert done.returncode == 2 and done.stdout == "", done.stderr
        assert done.stderr.splitlines() == [f"error: {what}, {install}"], done.stderr
    assert not (tmp_path / "run").exists()
