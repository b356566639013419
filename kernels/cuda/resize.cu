// Pad-to-square + bilinear resize of one image in one pass, equal to face-api.js:
// tfjs-core 1.7's CPU resizeBilinear (no half-pixel centres; neighbours floor and
// min(ceil, side - 1); interpolation in double, stored as float) on the zero-padded
// square, without building the square: pixels outside the image read as 0.
// Reference: pad_to_square + resize_bilinear in faceapi_np/ops.py. One thread per output value.

template <typename T>
__device__ double pixel(const T* img, int h, int w, int y, int x, int off_y, int off_x, int ch) {
    int yy = y - off_y, xx = x - off_x;
    if (yy < 0 || yy >= h || xx < 0 || xx >= w) return 0.0;
    return (double)img[((long long)yy * w + xx) * 3 + ch];
}

template <typename T>
__device__ void resize_square(const T* img, float* out, int h, int w, int size, int side,
                              int off_y, int off_x) {
    long long total = (long long)size * size * 3;
    double ratio = (double)side / (double)size;
    for (long long i = blockIdx.x * (long long)blockDim.x + threadIdx.x; i < total;
         i += (long long)gridDim.x * blockDim.x) {
        int ch = (int)(i % 3);
        int c = (int)((i / 3) % size);
        int r = (int)(i / (3LL * size));
        double fy = ratio * r, fx = ratio * c;
        int y0 = (int)floor(fy), x0 = (int)floor(fx);
        int y1 = min(side - 1, (int)ceil(fy)), x1 = min(side - 1, (int)ceil(fx));
        double dy = fy - y0, dx = fx - x0;
        double tl = pixel(img, h, w, y0, x0, off_y, off_x, ch);
        double tr = pixel(img, h, w, y0, x1, off_y, off_x, ch);
        double bl = pixel(img, h, w, y1, x0, off_y, off_x, ch);
        double br = pixel(img, h, w, y1, x1, off_y, off_x, ch);
        double top = tl + (tr - tl) * dx;
        double bot = bl + (br - bl) * dx;
        out[i] = (float)(top + (bot - top) * dy);
    }
}

extern "C" __global__ void resize_to_square_u8(const unsigned char* img, float* out, int h, int w,
                                               int size, int side, int off_y, int off_x) {
    resize_square(img, out, h, w, size, side, off_y, off_x);
}

extern "C" __global__ void resize_to_square_f32(const float* img, float* out, int h, int w,
                                                int size, int side, int off_y, int off_x) {
    resize_square(img, out, h, w, size, side, off_y, off_x);
}
