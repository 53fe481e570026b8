"""Dense rows of a sparse product (query rows x postings), in one pass over the postings.

SciPy's ``A @ B`` on two sparse matrices walks the postings twice: once to count
the result's cells, once to fill them, and the result is then made dense.  The
ranking wants dense rows anyway, and the number of cells is bounded by the block's
size, so the counting pass is skipped here: SciPy's own kernel fills arrays sized
for the bound.  The sums are the kernel's own, so the scores equal ``(A @ B).toarray()``
to the last bit; when the kernel cannot be reached, that is what runs.
"""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp

try:
    from scipy.sparse._sparsetools import csr_matmat as _csr_matmat
except ImportError:  # a SciPy that moved its kernels: the public product
    _csr_matmat = None


def dense_product(weights: np.ndarray, columns: np.ndarray, indptr: np.ndarray,
                  matrix: sp.csr_matrix) -> np.ndarray:
    """``(Q @ matrix).toarray()`` for the CSR matrix ``Q`` given by ``(weights, columns, indptr)``."""
    rows, width = len(indptr) - 1, matrix.shape[1]
    index = np.int32 if max(rows * width, matrix.nnz, matrix.shape[0]) < 2**31 - 1 else np.int64
    query = sp.csr_matrix((weights, columns.astype(index), indptr.astype(index)), shape=(rows, matrix.shape[0]))
    if _csr_matmat is None or matrix.indices.dtype != index or matrix.dtype != np.float64:
        return (query @ matrix).toarray()
    lengths = np.diff(matrix.indptr)[query.indices]
    bound = int(min(lengths.sum(), rows * width))  # no row has more cells than the matrix has columns
    cp = np.zeros(rows + 1, dtype=index)
    cj = np.empty(bound, dtype=index)
    cx = np.empty(bound, dtype=np.float64)
    _csr_matmat(rows, width, query.indptr, query.indices, query.data.astype(np.float64, copy=False),
                matrix.indptr, matrix.indices, matrix.data, cp, cj, cx)
    out = np.zeros((rows, width))
    filled = int(cp[-1])
    out[np.repeat(np.arange(rows), np.diff(cp)), cj[:filled]] = cx[:filled]
    return out
