// im2col for regular convs (any kernel size, stride, TF padding), NHWC:
// cols[(b, oy, ox), (ky, kx, ci)] = x[b, oy*s - pt + ky, ox*s - pl + kx, ci], 0 outside.
// Reference: conv2d in faceapi_np/backend/numpy_backend.py. The product with the
// (KH*KW*C_in, C_out) filter then runs in cuBLAS (cupy.matmul). One thread per element,
// consecutive threads on consecutive channels so reads and writes coalesce.

extern "C" __global__ void im2col(const float* x, float* cols, int n, int h, int w, int c,
                                  int kh, int kw, int stride, int pad_top, int pad_left,
                                  int ho, int wo) {
    long long k = (long long)kh * kw * c;
    long long total = (long long)n * ho * wo * k;
    for (long long i = blockIdx.x * (long long)blockDim.x + threadIdx.x; i < total;
         i += (long long)gridDim.x * blockDim.x) {
        long long row = i / k;
        int col = (int)(i % k);
        int ci = col % c;
        int kx = (col / c) % kw;
        int ky = col / (c * kw);
        int ox = (int)(row % wo);
        int oy = (int)((row / wo) % ho);
        int b = (int)(row / ((long long)wo * ho));
        int iy = oy * stride - pad_top + ky;
        int ix = ox * stride - pad_left + kx;
        float v = 0.0f;
        if (iy >= 0 && iy < h && ix >= 0 && ix < w) v = x[(((long long)b * h + iy) * w + ix) * c + ci];
        cols[i] = v;
    }
}
