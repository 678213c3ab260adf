"""HiGHS called the way `scipy.optimize.linprog(method="highs")` calls it, without linprog's
result handling: the wrapper turns every column's dual into Python objects one by one,
which cost more than solving the ES planner's LPs. Same solver (scipy's bundled HiGHS),
same options, same matrix, so the same vertex; the feasibility check linprog applies to
the answer is applied here too."""

from __future__ import annotations

import numpy as np
from scipy.optimize import linprog
from scipy.sparse import csc_matrix

try:  # scipy's own HiGHS build; a private module, so another scipy may lay it out otherwise
    from scipy.optimize._highspy import _core as highs

    _DIRECT = all(hasattr(highs, name) for name in ("_Highs", "MatrixFormat", "ObjSense"))
except ImportError:
    _DIRECT = False

_OPTIONS = (
    ("presolve", "on"),
    ("highs_debug_level", 0),  # kHighsDebugLevelNone
    ("log_to_console", False),
    ("output_flag", False),
    ("simplex_strategy", 1),  # kSimplexStrategyDual
)
#: linprog's tolerance on the returned solution: sqrt(1e-9) * 10
_TOLERANCE = float(np.sqrt(1e-9) * 10)


def minimise(cost: np.ndarray, indptr: np.ndarray, indices: np.ndarray, data: np.ndarray, upper: np.ndarray) -> np.ndarray | None:
    """argmin cost·x subject to A x ≤ upper, x ≥ 0 (A in CSC arrays), or None when HiGHS
    finds no optimum or linprog would reject the answer."""
    if not _DIRECT:
        return _through_linprog(cost, indptr, indices, data, upper)
    n_cols, n_rows = cost.size, upper.size
    solver = highs._Highs()
    # linprog's non-default options for method="highs" (one by one: cheaper than passing a
    # whole options object, and every option ends up the same)
    for name, value in _OPTIONS:
        if solver.setOptionValue(name, value) == highs.HighsStatus.kError:
            return None
    # The model as arrays (HiGHS copies them as they are; a `HighsLp` would convert its
    # vectors element by element); all columns continuous, so HiGHS solves it as an LP.
    passed = solver.passModel(
        n_cols, n_rows, int(indices.size), int(highs.MatrixFormat.kColwise), int(highs.ObjSense.kMinimize), 0.0,
        np.ascontiguousarray(cost, dtype=np.float64), np.zeros(n_cols), np.full(n_cols, highs.kHighsInf),
        np.full(n_rows, -highs.kHighsInf), np.ascontiguousarray(upper, dtype=np.float64),
        indptr[:-1].astype(np.int32), indices.astype(np.int32), np.ascontiguousarray(data, dtype=np.float64),
        np.zeros(n_cols, dtype=np.int32),
    )
    if passed == highs.HighsStatus.kError:
        return None
    if solver.run() == highs.HighsStatus.kError or solver.getModelStatus() != highs.HighsModelStatus.kOptimal:
        return None
    solution = solver.getSolution()
    x = np.array(solution.col_value)
    slack = upper - np.array(solution.row_value)
    if np.isnan(x).any() or np.isnan(slack).any() or np.isnan(solver.getInfo().objective_function_value):
        return None
    if (x < -_TOLERANCE).any() or (slack < -_TOLERANCE).any():
        return None
    return x


def _through_linprog(
    cost: np.ndarray, indptr: np.ndarray, indices: np.ndarray, data: np.ndarray, upper: np.ndarray
) -> np.ndarray | None:
    """The same LP through the public wrapper (same solver and options, slower)."""
    matrix = csc_matrix((data, indices, indptr), shape=(upper.size, cost.size))
    result = linprog(cost, A_ub=matrix, b_ub=upper, bounds=(0, None), method="highs")
    return result.x if result.status == 0 else None
