"""What every benchmark table names: the processor it ran on (ratios depend on it)."""

from __future__ import annotations

import platform


def cpu_model() -> str:
    """Return the ``model name`` of /proc/cpuinfo, or what the platform module says elsewhere."""
    try:
        with open("/proc/cpuinfo") as info:
            for line in info:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine() or "unknown"
