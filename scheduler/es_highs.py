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

    _DIRECT = all(hasattr(highs, name) for name in ("HighsLp", "_Highs", "HighsOptions", "MatrixFormat"))
except ImportError:
    _DIRECT = False

#: linprog's tolerance on the returned solution: sqrt(1e-9) * 10
_TOLERANCE = float(np.sqrt(1e-9) * 10)


def minimise(cost: np.ndarray, indptr: np.ndarray, indices: np.ndarray, data: np.ndarray, upper: np.ndarray) -> np.ndarray | None:
    """argmin cost·x subject to A x ≤ upper, x ≥ 0 (A in CSC arrays), or None when HiGHS
    finds no optimum or linprog would reject the answer."""
    if not _DIRECT:
        return _through_linprog(cost, indptr, indices, data, upper)
    n_cols, n_rows = cost.size, upper.size
    lp = highs.HighsLp()
    lp.num_col_ = n_cols
    lp.num_row_ = n_rows
    lp.a_matrix_.num_col_ = n_cols
    lp.a_matrix_.num_row_ = n_rows
    lp.a_matrix_.format_ = highs.MatrixFormat.kColwise
    lp.col_cost_ = cost
    # Only the cost crosses into HiGHS as an array; every other vector is converted element
    # by element, which is several times faster from a list than from a numpy array.
    lp.col_lower_ = [0.0] * n_cols
    lp.col_upper_ = [highs.kHighsInf] * n_cols
    lp.row_lower_ = [-highs.kHighsInf] * n_rows
    lp.row_upper_ = upper.tolist()
    lp.a_matrix_.start_ = indptr.tolist()
    lp.a_matrix_.index_ = indices.tolist()
    lp.a_matrix_.value_ = data.tolist()
    solver = highs._Highs()
    options = highs.HighsOptions()
    # linprog's non-default options for method="highs"
    options.presolve = "on"
    options.highs_debug_level = highs.HighsDebugLevel.kHighsDebugLevelNone
    options.log_to_console = False
    options.output_flag = False
    options.simplex_strategy = highs.simplex_constants.SimplexStrategy.kSimplexStrategyDual
    if solver.passOptions(options) == highs.HighsStatus.kError or solver.passModel(lp) == highs.HighsStatus.kError:
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
