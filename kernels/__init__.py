"""Hot kernels behind the backend layer, installed as ``faceapi_np.kernels``.

See ``README.md`` in this folder for what goes here.
"""
