// Fused conv epilogue, in place: y = act((y + bias) * scale_w + scale_b + residual).
// Reference: NumpyBackend.conv2d (faceapi_np/backend/numpy_backend.py). One grid-stride
// pass over the (M, C) conv output after the cuBLAS GEMM; flags: 1 bias, 2 scale, 4 residual.
#include "activation.cuh"

extern "C" __global__ void conv_epilogue(float* y, const float* bias, const float* scale_w,
                                         const float* scale_b, const float* residual,
                                         long long total, int channels, int act, int flags) {
    for (long long i = blockIdx.x * (long long)blockDim.x + threadIdx.x; i < total;
         i += (long long)gridDim.x * blockDim.x) {
        int c = (int)(i % channels);
        float v = y[i];
        if (flags & 1) v += bias[c];
        if (flags & 2) v = v * scale_w[c] + scale_b[c];
        if (flags & 4) v += residual[i];
        y[i] = activate(v, act);
    }
}
