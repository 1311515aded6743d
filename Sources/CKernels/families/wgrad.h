// Weight-gradient kernels for depthwise and few-channel grouped convolution (gc_wgrad.h),
// written once and compiled per instruction set (GC_ISA(name) names the copy). Before
// including, define GC_WGRAD_ACCUMULATORS: the vector accumulators a kernel may keep in
// registers (24 of the 32 zmm for AVX-512), and GC_WGRAD_MASKED where AVX-512 masked loads
// and stores are available.
//
// Two kernels share one inner loop shape: NO output channels (<= 4) x NT taps (<= 10) of
// accumulators in registers; per step, NO dy vectors are loaded and each of the NT x vectors
// feeds NO FMAs, so multiplier and grouped convolutions load less than one vector per FMA.
//
// Staged (`gc_wgrad_accumulate`): per (sample, group), per block of `block_rows` rows:
//   stage dy (y_per_group channels) and x (x_per_group channels x phases), then
//   for each input channel i, block of outputs, block of taps:
//     for each 16 positions q: d[o] = dy'[o][q];
//       for each tap t: acc[o][t] += d[o] * xs[i][q + offset[t]]
//   with 16 lanes of partial sums per (o, i, t), added horizontally at the end.
// Lanes (`gc_wgrad_lanes_accumulate`): per (sample, 16 groups), per band of output rows:
//   transpose dy and the zero-padded x window into vectors of 16 groups, then
//   for each chunk of rows (sized for L1), input channel i, block of outputs, block of taps:
//     for each output p: d[o] = dy^T[o][p];
//       for each tap t: acc[o][t] += d[o] * x^T[i][position(p) + offset[t]]
//   where each accumulator's lanes are the 16 groups' sums: nothing to add horizontally.
#include <string.h>

#ifndef GC_WGRAD_ACCUMULATORS
#error "define GC_WGRAD_ACCUMULATORS before including families/wgrad.h"
#endif

// The largest tap block for `outputs` output channels: accumulators within the register
// budget, and at most 11 - outputs x pointers so the loop's addresses stay in the 15 usable
// general registers.
static inline long GC_ISA(wgrad_max_taps)(long outputs) {
  long by_registers = GC_WGRAD_ACCUMULATORS / outputs;
  long by_addresses = 11 - outputs;
  long limit = by_registers < by_addresses ? by_registers : by_addresses;
  return limit < 1 ? 1 : limit;
}

// n split into `count` blocks of at most `max`, as even as possible: the first `extra`
// blocks have base + 1.
typedef struct { long count, base, extra; } GC_ISA(wgrad_split);

static inline GC_ISA(wgrad_split) GC_ISA(wgrad_split_of)(long n, long max) {
  const long count = (n + max - 1) / max;
  return (GC_ISA(wgrad_split)){count, n / count, n % count};
}

// MARK: - Staging
//
// Staging writes only the columns that can hold x or dy data. The others (dy's columns past
// the output width, a phase plane's columns that fall in the padding) are zero from the
// scratch's first use and nothing writes them, so no row pays for zero-filling them.

// The short copies and fills at the end of a staged row write a whole vector: zeros past the
// row's last column, which either must be zero (columns outside the data) or are written
// again by the next row, staged after this one. The staging windows leave room for the last
// row's 16 floats.
// Reads (and can fault on) nothing past src[n - 1].
static inline void GC_ISA(wgrad_copy_short)(float *dst, const float *src, long n) {
  gc_store(dst, gc_load_first(src, n));
}

// Zeros dst[0 ..< n] and up to 15 floats after.
static inline void GC_ISA(wgrad_zero)(float *dst, long n) {
  for (long j = 0; j < n; j += 16) gc_store(dst + j, gc_splat(0));
}

// dst[j] = src[j * step] for j < n (with stride 1 zeros may follow up to the next multiple
// of 16); reads nothing past src[(n - 1) * step].
static inline void GC_ISA(wgrad_gather)(float *dst, const float *src, long n, long step) {
  long j = 0;
  if (step == 1) {
    for (; j + 16 <= n; j += 16) gc_store(dst + j, gc_load(src + j));
    if (j < n) GC_ISA(wgrad_copy_short)(dst + j, src + j, n - j);
    return;
  }
  if (step == 2) {
    // Two vectors hold 16 even-indexed floats; the last odd one read must exist.
    for (; j + 17 <= n; j += 16) {
      gc_v16 a = gc_load(src + 2 * j), b = gc_load(src + 2 * j + 16);
      gc_store(dst + j, __builtin_shufflevector(
        a, b, 0, 2, 4, 6, 8, 10, 12, 14, 16, 18, 20, 22, 24, 26, 28, 30));
    }
  }
  for (; j < n; j++) dst[j] = src[j * step];
}

// dy rows [row, row + rows) of one channel plane, the block starting at depth slice z, row
// y: the output's columns of each row, zeros for the rows past the output height that 3-D
// planes have per depth slice. Adds the rows' sum to `bias` (16 partial sums) unless NULL.
// Short zero fills stay inline stores rather than memset calls, here and below.
__attribute__((no_builtin("memset"))) static void GC_ISA(wgrad_stage_dy)(
  const gc_wgrad_plan *p, const float *dy, long z, long y, long rows, float *dst,
  float *bias) {
  const long width = p->row_width, yh = p->y_size[1], yw = p->y_size[2];
  gc_v16 sum = gc_splat(0);
  for (long r = 0; r < rows; r++) {
    float *out = dst + r * width;
    if (y < yh) {
      const float *in = dy + (z * yh + y) * yw;
      long j = 0;
      for (; j + 16 <= yw; j += 16) {
        const gc_v16 v = gc_load(in + j);
        gc_store(out + j, v);
        sum += v;
      }
      if (j < yw) {
        GC_ISA(wgrad_copy_short)(out + j, in + j, yw - j);
        sum += gc_load(out + j);  // zeros past the row
      }
    } else {
      GC_ISA(wgrad_zero)(out, yw);
    }
    if (++y == p->phase_height) y = 0, z++;
  }
  // A shorter last block: its last vector reads up to 15 floats a full block wrote.
  if (rows < p->block_rows) GC_ISA(wgrad_zero)(dst + rows * width, 16);
  if (bias) gc_store(bias, gc_load(bias) + sum);
}

// Phase plane `phase` of one x channel, rows [row, row + rows + halo_rows) for the block
// starting at depth slice z, row y.
__attribute__((no_builtin("memset"))) static void GC_ISA(wgrad_stage_x)(
  const gc_wgrad_plan *p, const float *x, long phase, long z, long y, long rows, float *dst) {
  const long width = p->row_width, height = p->phase_height;
  const long *f = p->phase + 6 * phase;
  const long lo = f[3], count = f[4];
  if (count == 0) return;  // every column is padding: the plane stays zero
  const long xd = p->x_size[0], xh = p->x_size[1], xw = p->x_size[2];
  const long sx = p->stride[2];
  const float *const column = x + lo * sx + f[5];
  long iz = z * p->stride[0] + f[0] - p->pad[0], iy = y * p->stride[1] + f[1] - p->pad[1];
  const long staged = rows + p->halo_rows;
  for (long k = 0; k < staged; k++) {
    float *out = dst + k * width + lo;
    if (z < p->phase_depth && iz >= 0 && iz < xd && iy >= 0 && iy < xh) {
      GC_ISA(wgrad_gather)(out, column + (iz * xh + iy) * xw, count, sx);
    } else {
      GC_ISA(wgrad_zero)(out, count);
    }
    iy += p->stride[1];
    if (++y == height) y = 0, iy = f[1] - p->pad[1], z++, iz += p->stride[0];
  }
  // A shorter last block: positions past its rows that taps read were written by a full one.
  if (rows < p->block_rows)
    GC_ISA(wgrad_zero)(dst + staged * width, width - p->y_size[2] + 16);
}

// MARK: - Correlation

// acc[o][t] += Σ_q dy[o][q] · x[q + offset[t]] over `vectors` × 16 positions, for NO output
// channels (dy planes `dy_stride` apart, accumulators `acc_stride` apart) and NT taps.
// NO and NT are constants after inlining, so the accumulators live in registers.
static inline __attribute__((always_inline)) void GC_ISA(wgrad_body)(
  const float *dy, long dy_stride, const float *x, const long *offset, long vectors,
  float *acc, long acc_stride, const int NO, const int NT) {
  gc_v16 a[4][10];
  const float *xt[10];
#pragma clang loop unroll(full)
  for (int t = 0; t < NT; t++) xt[t] = x + offset[t];
#pragma clang loop unroll(full)
  for (int o = 0; o < NO; o++)
#pragma clang loop unroll(full)
    for (int t = 0; t < NT; t++) a[o][t] = gc_splat(0);
  for (long q = 0; q < vectors * 16; q += 16) {
    gc_v16 d[4];
#pragma clang loop unroll(full)
    for (int o = 0; o < NO; o++) d[o] = gc_load(dy + o * dy_stride + q);
#pragma clang loop unroll(full)
    for (int t = 0; t < NT; t++) {
      const gc_v16 xv = gc_load(xt[t] + q);
#pragma clang loop unroll(full)
      for (int o = 0; o < NO; o++) a[o][t] += d[o] * xv;
    }
  }
#pragma clang loop unroll(full)
  for (int o = 0; o < NO; o++)
#pragma clang loop unroll(full)
    for (int t = 0; t < NT; t++) {
      float *sum = acc + o * acc_stride + t * 16;
      gc_store(sum, gc_load(sum) + a[o][t]);
    }
}

typedef void (*GC_ISA(wgrad_kernel))(
  const float *dy, long dy_stride, const float *x, const long *offset, long vectors,
  float *acc, long acc_stride);

#define GC_WGRAD_KERNEL(NO, NT)                                                              \
  static void GC_ISA(wgrad_kernel_##NO##_##NT)(                                              \
    const float *dy, long dy_stride, const float *x, const long *offset, long vectors,      \
    float *acc, long acc_stride) {                                                           \
    GC_ISA(wgrad_body)(dy, dy_stride, x, offset, vectors, acc, acc_stride, NO, NT);         \
  }
#define GC_WGRAD_KERNELS(NO)                                                                 \
  GC_WGRAD_KERNEL(NO, 1) GC_WGRAD_KERNEL(NO, 2) GC_WGRAD_KERNEL(NO, 3)                       \
  GC_WGRAD_KERNEL(NO, 4) GC_WGRAD_KERNEL(NO, 5) GC_WGRAD_KERNEL(NO, 6)                       \
  GC_WGRAD_KERNEL(NO, 7) GC_WGRAD_KERNEL(NO, 8) GC_WGRAD_KERNEL(NO, 9)                       \
  GC_WGRAD_KERNEL(NO, 10)
GC_WGRAD_KERNELS(1)
GC_WGRAD_KERNELS(2)
GC_WGRAD_KERNELS(3)
GC_WGRAD_KERNELS(4)
#undef GC_WGRAD_KERNEL

#define GC_WGRAD_ROW(NO)                                                                     \
  {GC_ISA(wgrad_kernel_##NO##_1), GC_ISA(wgrad_kernel_##NO##_2),                             \
   GC_ISA(wgrad_kernel_##NO##_3), GC_ISA(wgrad_kernel_##NO##_4),                             \
   GC_ISA(wgrad_kernel_##NO##_5), GC_ISA(wgrad_kernel_##NO##_6),                             \
   GC_ISA(wgrad_kernel_##NO##_7), GC_ISA(wgrad_kernel_##NO##_8),                             \
   GC_ISA(wgrad_kernel_##NO##_9), GC_ISA(wgrad_kernel_##NO##_10)}
// [outputs - 1][taps - 1]
static const GC_ISA(wgrad_kernel) GC_ISA(wgrad_kernels)[4][10] = {
  GC_WGRAD_ROW(1), GC_WGRAD_ROW(2), GC_WGRAD_ROW(3), GC_WGRAD_ROW(4),
};
#undef GC_WGRAD_ROW

// MARK: - Entry

void GC_ISA(gc_wgrad_accumulate)(
  const gc_wgrad_plan *p, const float *dy, const float *x, long groups, long row_begin,
  long row_end, float *acc, float *bias, float *scratch) {
  const long cx = p->x_per_group, cy = p->y_per_group, taps = p->taps;
  const long width = p->row_width, phases = p->phases, height = p->phase_height;
  const long x_plane = p->x_size[0] * p->x_size[1] * p->x_size[2];
  const long y_plane = p->y_size[0] * p->y_size[1] * p->y_size[2];
  float *const xs = scratch, *const ys = scratch + cx * phases * p->phase_stride;
  // Output channels in blocks of at most 4, as even as possible; taps likewise per block,
  // for each of the (at most two) block sizes. Planned here, once per call: divisions per
  // group would cost more than a small group's kernels.
  const GC_ISA(wgrad_split) output_split = GC_ISA(wgrad_split_of)(cy, 4);
  const GC_ISA(wgrad_split) tap_split[2] = {
    GC_ISA(wgrad_split_of)(taps, GC_ISA(wgrad_max_taps)(output_split.base)),
    GC_ISA(wgrad_split_of)(taps, GC_ISA(wgrad_max_taps)(output_split.base + 1)),
  };
  const long z_begin = row_begin == 0 ? 0 : row_begin / height;
  const long y_begin = row_begin - z_begin * height;
  for (long g = 0; g < groups; g++, dy += cy * y_plane, x += cx * x_plane) {
    float *const group_acc = acc + g * cy * cx * taps * 16;
    long z = z_begin, y = y_begin;
    for (long row = row_begin; row < row_end; row += p->block_rows) {
      const long rows = row_end - row < p->block_rows ? row_end - row : p->block_rows;
      for (long o = 0; o < cy; o++)
        GC_ISA(wgrad_stage_dy)(
          p, dy + o * y_plane, z, y, rows, ys + o * p->dy_stride,
          bias ? bias + (g * cy + o) * 16 : NULL);
      for (long i = 0; i < cx; i++)
        for (long f = 0; f < phases; f++)
          GC_ISA(wgrad_stage_x)(
            p, x + i * x_plane, f, z, y, rows, xs + (i * phases + f) * p->phase_stride);
      const long vectors = (rows * width + 15) / 16;
      for (long i = 0; i < cx; i++) {
        const float *xi = xs + i * phases * p->phase_stride;
        for (long b = 0, o0 = 0; b < output_split.count; b++) {
          const long outputs = output_split.base + (b < output_split.extra);
          const GC_ISA(wgrad_split) ts = tap_split[outputs - output_split.base];
          for (long c = 0, t0 = 0; c < ts.count; c++) {
            const long block_taps = ts.base + (c < ts.extra);
            GC_ISA(wgrad_kernels)[outputs - 1][block_taps - 1](
              ys + o0 * p->dy_stride, p->dy_stride, xi, p->tap_offset + t0, vectors,
              group_acc + ((o0 * cx + i) * taps + t0) * 16, cx * taps * 16);
            t0 += block_taps;
          }
          o0 += outputs;
        }
      }
      for (y += rows; y >= height; y -= height) z++;
    }
  }
}

// MARK: - Lanes

// Transposes 16 rows of 16 floats in place: four rounds, each swapping one bit of the row
// index with the same bit of the column index between rows J apart. Of two such rows a
// (bit clear) and b (bit set), a takes a[c] where c has the bit clear and b[c - J] where it
// is set; b takes a[c + J] and b[c] likewise.
#ifndef GC_WGRAD_A1
#define GC_WGRAD_A1 0, 16, 2, 18, 4, 20, 6, 22, 8, 24, 10, 26, 12, 28, 14, 30
#define GC_WGRAD_B1 1, 17, 3, 19, 5, 21, 7, 23, 9, 25, 11, 27, 13, 29, 15, 31
#define GC_WGRAD_A2 0, 1, 16, 17, 4, 5, 20, 21, 8, 9, 24, 25, 12, 13, 28, 29
#define GC_WGRAD_B2 2, 3, 18, 19, 6, 7, 22, 23, 10, 11, 26, 27, 14, 15, 30, 31
#define GC_WGRAD_A4 0, 1, 2, 3, 16, 17, 18, 19, 8, 9, 10, 11, 24, 25, 26, 27
#define GC_WGRAD_B4 4, 5, 6, 7, 20, 21, 22, 23, 12, 13, 14, 15, 28, 29, 30, 31
#define GC_WGRAD_A8 0, 1, 2, 3, 4, 5, 6, 7, 16, 17, 18, 19, 20, 21, 22, 23
#define GC_WGRAD_B8 8, 9, 10, 11, 12, 13, 14, 15, 24, 25, 26, 27, 28, 29, 30, 31
#endif
static inline __attribute__((always_inline)) void GC_ISA(wgrad_transpose)(gc_v16 r[16]) {
#define GC_WGRAD_ROUND(J, A, B)                                                              \
  _Pragma("clang loop unroll(full)")                                                         \
  for (int k = 0; k < 8; k++) {                                                              \
    const int i = (k / J) * 2 * J + k % J;  /* the k-th row with bit J clear */              \
    const gc_v16 a = r[i], b = r[i + J];                                                     \
    r[i] = __builtin_shufflevector(a, b, A);                                                 \
    r[i + J] = __builtin_shufflevector(a, b, B);                                             \
  }
  GC_WGRAD_ROUND(1, GC_WGRAD_A1, GC_WGRAD_B1)
  GC_WGRAD_ROUND(2, GC_WGRAD_A2, GC_WGRAD_B2)
  GC_WGRAD_ROUND(4, GC_WGRAD_A4, GC_WGRAD_B4)
  GC_WGRAD_ROUND(8, GC_WGRAD_A8, GC_WGRAD_B8)
#undef GC_WGRAD_ROUND
}

// The 16 floats at src, or the first n (< 16) then zeros, reading nothing past src[n - 1].
static inline gc_v16 GC_ISA(wgrad_load_partial)(const float *src, long n) {
  return gc_load_first(src, n);
}

// dst[0 ..< n] = the first n (<= 16) lanes of v.
static inline void GC_ISA(wgrad_store_partial)(float *dst, gc_v16 v, long n) {
  gc_store_first(dst, v, n);
}

void GC_ISA(gc_wgrad_lanes_store)(const float *acc, long sums, long lanes, float *dst) {
  for (long j0 = 0; j0 < sums; j0 += 16) {
    const long n = sums - j0 < 16 ? sums - j0 : 16;
    gc_v16 r[16];
#pragma clang loop unroll(full)
    for (int j = 0; j < 16; j++) r[j] = j < n ? gc_load(acc + 16 * (j0 + j)) : gc_splat(0);
    GC_ISA(wgrad_transpose)(r);
#pragma clang loop unroll(full)
    for (int l = 0; l < 16; l++)
      if (l < lanes) GC_ISA(wgrad_store_partial)(dst + l * sums + j0, r[l], n);
  }
}

// Transposes `count` floats of each of `lanes` channels (`channel_stride` apart) into
// vectors: element p's vector goes to dst + 16 * (position ? position[p] - origin : p).
// Adds the vectors to *sum unless NULL.
static void GC_ISA(wgrad_lanes_transpose)(
  const float *src, long channel_stride, long lanes, long count, const long *position,
  long origin, float *dst, gc_v16 *sum) {
  gc_v16 total = gc_splat(0);
  for (long p0 = 0; p0 < count; p0 += 16) {
    const long n = count - p0 < 16 ? count - p0 : 16;
    gc_v16 r[16];
#pragma clang loop unroll(full)
    for (int l = 0; l < 16; l++)
      r[l] = l < lanes ? GC_ISA(wgrad_load_partial)(src + l * channel_stride + p0, n)
                       : gc_splat(0);
    GC_ISA(wgrad_transpose)(r);
#pragma clang loop unroll(full)
    for (int j = 0; j < 16; j++) {
      if (j >= n) break;
      gc_store(dst + 16 * (position ? position[p0 + j] - origin : p0 + j), r[j]);
      total += r[j];
    }
  }
  if (sum) *sum += total;
}

// acc[o][t] += Σ over outputs of dy^T[o][output] * x^T[position(output) + offset[t]], for
// `rows` output rows whose first outputs read x^T at row_base[r] (positions), NO output
// channels (dy^T planes `dy_stride` floats apart, accumulators `acc_stride` apart) and NT
// taps; offsets in floats.
static inline __attribute__((always_inline)) void GC_ISA(wgrad_lanes_body)(
  const gc_wgrad_lanes_plan *p, const long *row_base, long origin, long rows,
  const float *dy, long dy_stride, const float *x, const long *offset, float *acc,
  long acc_stride, const int NO, const int NT) {
  gc_v16 a[4][10];
#pragma clang loop unroll(full)
  for (int o = 0; o < NO; o++)
#pragma clang loop unroll(full)
    for (int t = 0; t < NT; t++) a[o][t] = gc_splat(0);
  const long length = p->row_length, step = 16 * p->step;
  for (long r = 0; r < rows; r++) {
    const float *xt[10], *d[4];
#pragma clang loop unroll(full)
    for (int t = 0; t < NT; t++) xt[t] = x + 16 * (row_base[r] - origin) + offset[t];
#pragma clang loop unroll(full)
    for (int o = 0; o < NO; o++) d[o] = dy + o * dy_stride + 16 * r * length;
    for (long c = 0, q = 0; c < length; c++, q += step) {
      gc_v16 dv[4];
#pragma clang loop unroll(full)
      for (int o = 0; o < NO; o++) dv[o] = gc_load(d[o] + 16 * c);
#pragma clang loop unroll(full)
      for (int t = 0; t < NT; t++) {
        const gc_v16 xv = gc_load(xt[t] + q);
#pragma clang loop unroll(full)
        for (int o = 0; o < NO; o++) a[o][t] += dv[o] * xv;
      }
    }
  }
#pragma clang loop unroll(full)
  for (int o = 0; o < NO; o++)
#pragma clang loop unroll(full)
    for (int t = 0; t < NT; t++) {
      float *sum = acc + o * acc_stride + t * 16;
      gc_store(sum, gc_load(sum) + a[o][t]);
    }
}

typedef void (*GC_ISA(wgrad_lanes_kernel))(
  const gc_wgrad_lanes_plan *p, const long *row_base, long origin, long rows,
  const float *dy, long dy_stride, const float *x, const long *offset, float *acc,
  long acc_stride);

#define GC_WGRAD_KERNEL(NO, NT)                                                              \
  static void GC_ISA(wgrad_lanes_kernel_##NO##_##NT)(                                        \
    const gc_wgrad_lanes_plan *p, const long *row_base, long origin, long rows,             \
    const float *dy, long dy_stride, const float *x, const long *offset, float *acc,        \
    long acc_stride) {                                                                       \
    GC_ISA(wgrad_lanes_body)(                                                                \
      p, row_base, origin, rows, dy, dy_stride, x, offset, acc, acc_stride, NO, NT);        \
  }
GC_WGRAD_KERNELS(1)
GC_WGRAD_KERNELS(2)
GC_WGRAD_KERNELS(3)
GC_WGRAD_KERNELS(4)
#undef GC_WGRAD_KERNEL
#undef GC_WGRAD_KERNELS

#define GC_WGRAD_ROW(NO)                                                                     \
  {GC_ISA(wgrad_lanes_kernel_##NO##_1), GC_ISA(wgrad_lanes_kernel_##NO##_2),                 \
   GC_ISA(wgrad_lanes_kernel_##NO##_3), GC_ISA(wgrad_lanes_kernel_##NO##_4),                 \
   GC_ISA(wgrad_lanes_kernel_##NO##_5), GC_ISA(wgrad_lanes_kernel_##NO##_6),                 \
   GC_ISA(wgrad_lanes_kernel_##NO##_7), GC_ISA(wgrad_lanes_kernel_##NO##_8),                 \
   GC_ISA(wgrad_lanes_kernel_##NO##_9), GC_ISA(wgrad_lanes_kernel_##NO##_10)}
static const GC_ISA(wgrad_lanes_kernel) GC_ISA(wgrad_lanes_kernels)[4][10] = {
  GC_WGRAD_ROW(1), GC_WGRAD_ROW(2), GC_WGRAD_ROW(3), GC_WGRAD_ROW(4),
};
#undef GC_WGRAD_ROW

__attribute__((no_builtin("memset"))) void GC_ISA(gc_wgrad_lanes_accumulate)(
  const gc_wgrad_lanes_plan *p, const float *dy, const float *x, long lanes, long row_begin,
  long row_end, float *acc, float *bias, float *scratch) {
  const long cx = p->x_per_group, cy = p->y_per_group, taps = p->taps;
  const long length = p->row_length, rows = row_end - row_begin;
  float *const dyt = scratch, *const xt = scratch + 16 * cy * p->band_rows * length;
  // The band's dy^T: its rows are contiguous in each dy plane.
  for (long o = 0; o < cy; o++) {
    gc_v16 sum = gc_splat(0);
    GC_ISA(wgrad_lanes_transpose)(
      dy + o * p->y_plane + row_begin * length, cy * p->y_plane, lanes, rows * length, NULL,
      0, dyt + 16 * o * p->band_rows * length, bias ? &sum : NULL);
    if (bias) gc_store(bias + 16 * o, gc_load(bias + 16 * o) + sum);
  }
  // The band's x^T window: padded rows from the band's first output row's first read. A
  // 3-D plane is one band, its window the whole padded plane.
  const long origin = p->row_base[row_begin];
  long first = 0, end = p->x_plane;
  if (p->band_rows < p->rows) {
    const long top = row_begin * p->row_stride;  // the window's first padded row
    const long window_rows = p->window_rows - (p->band_rows - rows) * p->row_stride;
    const long y0 = top - p->pad_top, y1 = y0 + window_rows;
    // Window rows in the padding: zero the columns a previous band may have written.
    for (long y = y0; y < y1; y++) {
      if (y >= 0 && y < p->x_rows) continue;
      float *row = xt + 16 * ((y - y0) * p->padded_width + p->pad_left);
      for (long i = 0; i < cx; i++)
        for (long c = 0; c < p->x_row_length; c++)
          gc_store(row + 16 * (i * p->window + c), gc_splat(0));
    }
    first = (y0 < 0 ? 0 : y0) * p->x_row_length;
    end = (y1 > p->x_rows ? p->x_rows : y1) * p->x_row_length;
  }
  if (end > first)
    for (long i = 0; i < cx; i++)
      GC_ISA(wgrad_lanes_transpose)(
        x + i * p->x_plane + first, cx * p->x_plane, lanes, end - first,
        p->x_position + first, origin, xt + 16 * i * p->window, NULL);
  // Taps in blocks as `gc_wgrad_accumulate` plans them.
  const GC_ISA(wgrad_split) output_split = GC_ISA(wgrad_split_of)(cy, 4);
  const GC_ISA(wgrad_split) tap_split[2] = {
    GC_ISA(wgrad_split_of)(taps, GC_ISA(wgrad_max_taps)(output_split.base)),
    GC_ISA(wgrad_split_of)(taps, GC_ISA(wgrad_max_taps)(output_split.base + 1)),
  };
  // A few rows at a time, so that every (input, block of outputs, block of taps) pass over
  // them finds their dy^T and x^T rows in L1.
  const long dy_stride = 16 * p->band_rows * length;
  for (long r0 = 0; r0 < rows; r0 += p->chunk_rows) {
    const long chunk = rows - r0 < p->chunk_rows ? rows - r0 : p->chunk_rows;
    for (long i = 0; i < cx; i++) {
      for (long b = 0, o0 = 0; b < output_split.count; b++) {
        const long outputs = output_split.base + (b < output_split.extra);
        const GC_ISA(wgrad_split) ts = tap_split[outputs - output_split.base];
        for (long c = 0, t0 = 0; c < ts.count; c++) {
          const long block_taps = ts.base + (c < ts.extra);
          GC_ISA(wgrad_lanes_kernels)[outputs - 1][block_taps - 1](
            p, p->row_base + row_begin + r0, origin, chunk,
            dyt + o0 * dy_stride + 16 * r0 * length, dy_stride, xt + 16 * i * p->window,
            p->tap_offset + t0, acc + ((o0 * cx + i) * taps + t0) * 16, cx * taps * 16);
          t0 += block_taps;
        }
        o0 += outputs;
      }
    }
  }
}

// MARK: - Horizontal sums

typedef float GC_ISA(wgrad_v8) __attribute__((vector_size(32), aligned(4)));
typedef float GC_ISA(wgrad_v4) __attribute__((vector_size(16), aligned(4)));
// The sums of 16 vectors as the 16 lanes of one: four rounds of adding each pair's halves,
// 15 additions and 30 shuffles in all instead of 16 separate horizontal sums.
static inline gc_v16 GC_ISA(wgrad_sum16)(const float *acc) {
  gc_v16 v[16], w[8], u[4], s[2];
  for (int i = 0; i < 16; i++) v[i] = gc_load(acc + 16 * i);
  // w[i]: 8 partial sums of v[2i], then 8 of v[2i + 1].
  for (int i = 0; i < 8; i++)
    w[i] = __builtin_shufflevector(v[2 * i], v[2 * i + 1],
             0, 1, 2, 3, 4, 5, 6, 7, 16, 17, 18, 19, 20, 21, 22, 23)
      + __builtin_shufflevector(v[2 * i], v[2 * i + 1],
          8, 9, 10, 11, 12, 13, 14, 15, 24, 25, 26, 27, 28, 29, 30, 31);
  // u[i]: 4 partial sums of each of v[4i] ... v[4i + 3].
  for (int i = 0; i < 4; i++)
    u[i] = __builtin_shufflevector(w[2 * i], w[2 * i + 1],
             0, 1, 2, 3, 8, 9, 10, 11, 16, 17, 18, 19, 24, 25, 26, 27)
      + __builtin_shufflevector(w[2 * i], w[2 * i + 1],
          4, 5, 6, 7, 12, 13, 14, 15, 20, 21, 22, 23, 28, 29, 30, 31);
  // s[i]: 2 partial sums of each of v[8i] ... v[8i + 7].
  for (int i = 0; i < 2; i++)
    s[i] = __builtin_shufflevector(u[2 * i], u[2 * i + 1],
             0, 1, 4, 5, 8, 9, 12, 13, 16, 17, 20, 21, 24, 25, 28, 29)
      + __builtin_shufflevector(u[2 * i], u[2 * i + 1],
          2, 3, 6, 7, 10, 11, 14, 15, 18, 19, 22, 23, 26, 27, 30, 31);
  return __builtin_shufflevector(s[0], s[1],
           0, 2, 4, 6, 8, 10, 12, 14, 16, 18, 20, 22, 24, 26, 28, 30)
    + __builtin_shufflevector(s[0], s[1],
        1, 3, 5, 7, 9, 11, 13, 15, 17, 19, 21, 23, 25, 27, 29, 31);
}

void GC_ISA(gc_wgrad_reduce)(const float *acc, long count, float *dw, int accumulate) {
  long j = 0;
  for (; j + 16 <= count; j += 16) {
    gc_v16 sums = GC_ISA(wgrad_sum16)(acc + 16 * j);
    if (accumulate) sums += gc_load(dw + j);
    gc_store(dw + j, sums);
  }
  for (; j < count; j++) {
    gc_v16 v = gc_load(acc + 16 * j);
    // Pairwise: halves, then quarters, then the last four lanes.
    GC_ISA(wgrad_v8) h8 = __builtin_shufflevector(v, v, 0, 1, 2, 3, 4, 5, 6, 7)
      + __builtin_shufflevector(v, v, 8, 9, 10, 11, 12, 13, 14, 15);
    GC_ISA(wgrad_v4) h4 = __builtin_shufflevector(h8, h8, 0, 1, 2, 3)
      + __builtin_shufflevector(h8, h8, 4, 5, 6, 7);
    float sum = (h4[0] + h4[2]) + (h4[1] + h4[3]);
    dw[j] = accumulate ? dw[j] + sum : sum;
  }
}
