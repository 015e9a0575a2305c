"""cldetl: produce and check the Adult Social Care Client Level Data (CLD) Release 2 return."""

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

__version__ = "0.1.0"
