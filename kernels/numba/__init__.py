"""numba CPU kernels behind the ``numba`` backend (``faceapi_np.kernels.numba``).

Importing this package imports numba; ``faceapi_np.backend.numba_backend`` does so only
when the numba backend is first asked for.
"""
