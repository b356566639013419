// Max / average pooling with TF padding semantics, NHWC: padded cells never win the max
// and are not counted in the mean. Reference: max_pool / avg_pool in numpy_backend.py.

extern "C" __global__ void pool2d(const float* x, float* y, int n, int h, int w, int c, int k,
                                  int stride, int pad_top, int pad_left, int ho, int wo, int is_max) {
    long long total = (long long)n * ho * wo * c;
    for (long long i = blockIdx.x * (long long)blockDim.x + threadIdx.x; i < total;
         i += (long long)gridDim.x * blockDim.x) {
        int ch = (int)(i % c);
        int ox = (int)((i / c) % wo);
        int oy = (int)((i / ((long long)c * wo)) % ho);
        int b = (int)(i / ((long long)c * wo * ho));
        float acc = is_max ? __int_as_float(0xff800000) : 0.0f;  // -inf without math.h (NVRTC)
        int count = 0;
        for (int ky = 0; ky < k; ++ky) {
            int iy = oy * stride - pad_top + ky;
            if (iy < 0 || iy >= h) continue;
            for (int kx = 0; kx < k; ++kx) {
                int ix = ox * stride - pad_left + kx;
                if (ix < 0 || ix >= w) continue;
                float v = x[(((long long)b * h + iy) * w + ix) * c + ch];
                acc = is_max ? fmaxf(acc, v) : acc + v;
                ++count;
            }
        }
        y[i] = is_max ? acc : acc / (float)count;
    }
}
