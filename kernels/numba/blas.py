"""A float32 matrix product called from inside numba kernels: OpenBLAS's ``cblas_sgemm``.

Computes ``c = a @ b`` (``c += a @ b`` with ``accumulate``) for row-major float32 matrices
whose rows may be strided (a tile of a larger matrix), by calling the ``cblas_sgemm`` of
the OpenBLAS that NumPy bundles, the same routine ``np.matmul`` ends in. NumPy reference:
``cols @ w`` in ``NumbaBackend``'s and ``NumpyBackend``'s conv2d.

Why: a convolution is cut into tiles of output rows, each im2col -> product -> epilogue
while the tile is in cache, and the tiles are shared between threads. With ``np.matmul``
the tiles have to be handed between Python threads, and waking a sleeping thread and
waking the caller again cost ~65 us per conv (measured: an empty two-tile hand-off), a
third of a 3x3 conv of the recognition net at batch 1. Called from a numba ``prange`` the
whole conv is one compiled parallel kernel, the hand-off is numba's own (OpenMP) one,
and a conv of 12.6M multiply-adds at batch 1 took 198 us against 273 us.

Design: the routine's address is looked up once per process by the backend
(``faceapi_np/backend/_blas.py``) and passed in as an integer, and :func:`_cblas_sgemm`
turns it into a function pointer in the generated code. Passing the address, instead of
binding a ``ctypes`` function at compile time, keeps the kernels cacheable on disk: a
cached kernel holds no address of the process that compiled it. NumPy's OpenBLAS is
built with 64-bit integers (ILP64), which the signature below follows; the backend only
passes an address of such a build. BLAS must run single-threaded in the calling thread
(the backend sets it so), since two threads' products would otherwise each start
OpenBLAS's own threads on the same cores.
"""

from __future__ import annotations

import numpy as np
from llvmlite import ir
from numba import njit, types
from numba.extending import intrinsic

# CBLAS enum values (cblas.h)
_ROW_MAJOR, _NO_TRANS = 101, 111


@intrinsic
def _cblas_sgemm(typingctx, addr, m, n, k, a, lda, b, ldb, beta, c, ldc):
    """``cblas_sgemm(RowMajor, NoTrans, NoTrans, m, n, k, 1, a, lda, b, ldb, beta, c, ldc)``
    through the function at ``addr``; ``a``, ``b``, ``c`` are data addresses."""
    i64, ptr = types.int64, types.uintp
    sig = types.void(i64, i64, i64, i64, ptr, i64, ptr, i64, types.float32, ptr, i64)

    def codegen(context, builder, signature, args):
        addr_v, m_v, n_v, k_v, a_v, lda_v, b_v, ldb_v, beta_v, c_v, ldc_v = args
        i32, l64, f32 = ir.IntType(32), ir.IntType(64), ir.FloatType()
        fptr = f32.as_pointer()
        fnty = ir.FunctionType(
            ir.VoidType(), [i32, i32, i32, l64, l64, l64, f32, fptr, l64, fptr, l64, f32, fptr, l64]
        )
        fn = builder.inttoptr(addr_v, fnty.as_pointer())
        builder.call(
            fn,
            [
                ir.Constant(i32, _ROW_MAJOR),
                ir.Constant(i32, _NO_TRANS),
                ir.Constant(i32, _NO_TRANS),
                m_v,
                n_v,
                k_v,
                ir.Constant(f32, 1.0),
                builder.inttoptr(a_v, fptr),
                lda_v,
                builder.inttoptr(b_v, fptr),
                ldb_v,
                beta_v,
                builder.inttoptr(c_v, fptr),
                ldc_v,
            ],
        )
        return context.get_dummy_value()

    return sig, codegen


@njit(inline="always")
def matmul_into(sgemm, a, b, c, accumulate=False):
    """``c[:] = a @ b`` (or ``c += a @ b``) for float32 2-D arrays with unit column stride.

    ``sgemm`` is the address from ``faceapi_np.backend._blas.sgemm_address()``. The rows
    of each matrix may be strided (``lda = a.strides[0] // 4``), so a tile of rows of a
    larger matrix is passed as it is, without a copy.
    """
    m, k = a.shape
    n = b.shape[1]
    if m == 0 or n == 0:
        return
    beta = np.float32(1.0) if accumulate else np.float32(0.0)
    _cblas_sgemm(
        sgemm,
        m,
        n,
        k,
        a.ctypes.data,
        a.strides[0] // 4,
        b.ctypes.data,
        b.strides[0] // 4,
        beta,
        c.ctypes.data,
        c.strides[0] // 4,
    )
