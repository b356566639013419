// Activations shared by the fused epilogues (codes as in kernels/numba/epilogue.py):
// 0 none, 1 relu, 2 relu6, 3 leaky in face-api.js's form relu(x - a*x) + a*x, a = float32(0.1).
#pragma once

__device__ __forceinline__ float activate(float v, int act) {
    if (act == 1) return fmaxf(v, 0.0f);
    if (act == 2) return fminf(fmaxf(v, 0.0f), 6.0f);
    if (act == 3) {
        float a = v * 0.10000000149011612f;
        return fmaxf(v - a, 0.0f) + a;
    }
    return v;
}
