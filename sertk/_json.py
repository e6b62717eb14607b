"""JSON-safe values: what model files, reports and provenance files write.

Examples
--------
>>> import numpy as np
>>> json_safe({"uar": np.float64(0.5), "missing": float("nan"), 1: (2, 3)})
{'uar': 0.5, 'missing': None, '1': [2, 3]}
"""

import math
from typing import Any

import numpy as np

__all__ = ["json_safe"]


def json_safe(value: Any) -> Any:
    """Return ``value`` as a JSON-safe Python object.

    Dict keys become strings, sequences and arrays lists, NumPy scalars
    Python ones, non-finite floats None, and anything else its ``repr``.

    Parameters
    ----------
    value : Any

    Returns
    -------
    Any
        Made of dict, list, str, int, float, bool and None only.
    """
    if isinstance(value, dict):
        return {str(k): json_safe(v) for k, v in value.items()}
    if isinstance(value, list | tuple | np.ndarray):
        return [json_safe(v) for v in value]
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if value is None or isinstance(value, bool | int | float | str):
        return value
    return repr(value)
