// Depthwise conv fused with an input ReLU, batch norm and activation, NHWC:
// y[b, oy, ox, ch] = act((sum_{ky,kx} relu?(x[b, oy*s - pt + ky, ox*s - pl + kx, ch]) * w[ky, kx, ch]
//                         - mean[ch]) * inv[ch] + offset[ch])      (the batch norm when has_bn)
// Reference: NumpyBackend.depthwise_conv2d. One thread per output element; consecutive
// threads on consecutive channels, so the loads of x and w coalesce.
#include "activation.cuh"

extern "C" __global__ void depthwise_conv(const float* x, const float* w, float* y,
                                          const float* mean, const float* inv, const float* offset,
                                          int n, int h, int wd, int c, int kh, int kw, int stride,
                                          int pad_top, int pad_left, int ho, int wo, int has_bn, int act,
                                          int relu_input) {
    long long total = (long long)n * ho * wo * c;
    for (long long i = blockIdx.x * (long long)blockDim.x + threadIdx.x; i < total;
         i += (long long)gridDim.x * blockDim.x) {
        int ch = (int)(i % c);
        int ox = (int)((i / c) % wo);
        int oy = (int)((i / ((long long)c * wo)) % ho);
        int b = (int)(i / ((long long)c * wo * ho));
        float acc = 0.0f;
        for (int ky = 0; ky < kh; ++ky) {
            int iy = oy * stride - pad_top + ky;
            if (iy < 0 || iy >= h) continue;
            for (int kx = 0; kx < kw; ++kx) {
                int ix = ox * stride - pad_left + kx;
                if (ix < 0 || ix >= wd) continue;
                float v = x[(((long long)b * h + iy) * wd + ix) * c + ch];
                if (relu_input) v = fmaxf(v, 0.0f);
                acc += v * w[(ky * kw + kx) * c + ch];
            }
        }
        if (has_bn) acc = (acc - mean[ch]) * inv[ch] + offset[ch];
        y[i] = activate(acc, act);
    }
}
