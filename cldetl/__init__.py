"""cldetl: produce and check the Adult Social Care Client Level Data (CLD) Release 2 return."""

from importlib.metadata import PackageNotFoundError, version

from cldetl.errors import CldetlError, InputError, SpecError, UsageError
from cldetl.spec import Spec, load_spec

__all__ = [
    "CldetlError",
    "InputError",
    "Spec",
    "SpecError",
    "UsageError",
    "load_spec",
]

try:
    # The one place the version is written is pyproject.toml.
    __version__ = version("cldetl")
except PackageNotFoundError:  # imported from a source folder that was never installed
    __version__ = "0+unknown"
