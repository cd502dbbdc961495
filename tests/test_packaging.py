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
