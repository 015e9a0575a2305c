"""Loading flows/<name>.py by file path.

flows/ is a folder of Prefect entrypoints beside mappings/, not an installed package (Prefect
loads deployments from files). The CLI's `run --prefect`, the all-authorities flow and the tests
all load the flow modules here, under one module name each, so there is only ever one copy of a
flow in a process.
"""

from __future__ import annotations

import importlib.util
import os
import sys
from pathlib import Path
from types import ModuleType

# Prefect's telemetry, off before Prefect is imported: the temporary server that `cldetl run
# --prefect` and `cldetl run-all` start (no PREFECT_API_URL) would otherwise send usage
# analytics. The data is special-category personal data and the users are public bodies.
# A value the user set is kept.
TELEMETRY_OFF = {
    "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
    "DO_NOT_TRACK": "1",
}


def telemetry_off() -> None:
    """Set TELEMETRY_OFF's variables unless already set; call before importing prefect."""
    for name, value in TELEMETRY_OFF.items():
        os.environ.setdefault(name, value)


def load_flows_module(stem: str, path: Path) -> ModuleType:
    """flows/<stem>.py (at `path`), loaded once as `cldetl_flows_<stem>`."""
    name = f"cldetl_flows_{stem}"
    if name in sys.modules:
        return sys.modules[name]
    telemetry_off()
    spec = importlib.util.spec_from_file_location(name, path)
    if spec is None or spec.loader is None:
        raise ImportError(f"cannot load {path}")
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    try:
        spec.loader.exec_module(module)
    except BaseException:
        del sys.modules[name]
        raise
    return module
