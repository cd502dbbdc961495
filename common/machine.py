"""What a measurement ran on, in one line, for the pages that report results."""

from __future__ import annotations

import os
import platform
from pathlib import Path

__all__ = ["machine_description"]


def machine_description() -> str:
    """``"<CPU model>, <N> cores, <system>"``, e.g. ``"AMD EPYC, 2 cores, Linux"``."""
    model = ""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return f"{model or platform.processor()}, {os.cpu_count()} cores, {platform.system()}"
