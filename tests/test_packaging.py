"""The package declares what it needs: ``pip install .`` must give working commands."""

import re
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DEVELOPMENT_ONLY = {"pytest", "pytest-xdist", "execnet", "ruff", "hypothesis", "sortedcontainers",
                    "selenium"}


def _pins(lines) -> dict[str, str]:
    pins = {}
    for line in lines:
        line = line.split("#")[0].strip()
        if line:
            name, version = re.fullmatch(r"([A-Za-z0-9_.-]+)==(\S+)", line).groups()
            pins[name.lower()] = version
    return pins


def test_pyproject_declares_every_runtime_requirement_with_the_same_pin():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    declared = _pins(project["dependencies"])
    required = _pins((ROOT / "requirements.txt").read_text().splitlines())
    assert declared == {k: v for k, v in required.items() if k not in DEVELOPMENT_ONLY}


def test_console_scripts_point_at_the_command_lines():
    import importlib

    scripts = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["scripts"]
    assert set(scripts) == {"nmt-attention", "nmt-transformer", "nmt-classify"}
    for target in scripts.values():
        module, function = target.split(":")
        assert callable(getattr(importlib.import_module(module), function))
