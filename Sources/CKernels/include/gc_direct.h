// Direct convolution microkernels (depthwise and few-channel grouped convolution), NCDHW.
//
// One work item is (image n, group g, output depth oz, band of output rows). For it the
// kernel stages the input rows the band reads, channel by channel, into a zero-padded
// scratch buffer: each staged row is split into `sw` phase rows (phase f holds padded
// columns f, f + sw, ...), so every tap reads the staged rows with unit stride at a fixed
// offset. Tiles of `ocb` output channels x `rows` output rows x `vecs` vectors of 16 output
// columns then accumulate in registers, bias first, and are stored with masked tails.
#ifndef GC_DIRECT_H
#define GC_DIRECT_H

#ifdef __cplusplus
extern "C" {
#endif

/// Everything the direct kernel needs about one geometry, filled in once by the planner.
/// Spatial extents are (d, h, w); 1-D and 2-D geometries have leading extents of 1.
typedef struct gc_direct_plan {
  long batch, groups;
  long cin, cout;             // input and output channels per group
  long xd, xh, xw, yd, yh, yw;
  long kd, kh, kw;
  long sd, sh, sw;            // stride
  long dd, dh, dw;            // dilation
  long pd, ph, pw;            // padding before
  long band, bands;           // output rows per work item; items per (n, g, oz)
  long ocb, ocblocks;         // output channels per tile; tiles per group
  long rows;                  // output rows per tile
  long vecs, chunks;          // 16-column vectors per tile; tiles per row
  long pitch;                 // floats per staged (phase) row, a multiple of 16
  long staged_rows;           // staged rows per (channel, kernel depth, phase)
  long shift;                 // staged index of padded column 0 (aligns the copied input)
  long plane;                 // floats per (channel, kernel depth): sw * staged_rows * pitch
  long ntaps;                 // cin * kd * kh * kw
  long tile;                  // index of the microkernel, from gc_direct_tile_index
  long isa;                   // GC_DIRECT_ISA_*: the run-time choice, or one forced (tests)
  long direct_rows;           // nonzero: 3 x 3 sliding tiles read x's rows, unstaged (AVX-512)
  long stream;                // nonzero: aligned whole vectors of y stored past the caches
  const float *weight;        // [groups][ocblocks][cin][kd][kh][kw][ocb], zero-padded
  const long *taps;           // [cin][kd][kh][kw]: staged offset of each tap
  const long *koff;           // [kw]: staged offset of each column tap (sliding kernels)
  const float *clamp;         // NULL, or {low, high}: outputs clamped (a fused ReLU or clip)
  long activation;            // -1, or a gc_activation_kind applied after the clamp
} gc_direct_plan;

/// Kinds of microkernel: taps from the table (any geometry), or a sliding window over rows
/// for 2-D depthwise kernels of size k x k with row dilation 1 (input rows loaded once and
/// used for every output row of the tile that reads them).
enum { GC_DIRECT_TAPS = 0, GC_DIRECT_SLIDING = 1 };

/// Which kernels run: the run-time choice (`gc_isa`), or the baseline, AVX2 or AVX-512 ones
/// wherever the processor has them (else the best it has), whatever `gc_use_isa` says (so
/// that tests of one family are not switched by tests of another running at the same time).
enum {
  GC_DIRECT_ISA_AUTOMATIC = 0,
  GC_DIRECT_ISA_GENERIC = 1,
  GC_DIRECT_ISA_AVX2 = 2,
  GC_DIRECT_ISA_AVX512 = 3
};

/// The instruction set (GC_ISA_*) that a plan's `isa` (GC_DIRECT_ISA_*) runs on this CPU.
int gc_direct_isa_level(long isa);

/// The index of the microkernel with this shape, or -1 if none is compiled. `k` and `sh`
/// (kernel size and row stride) matter only for sliding kernels; pass 0 for taps kernels.
long gc_direct_tile_index(long kind, long ocb, long rows, long vecs, long k, long sh);

/// Floats of scratch one thread needs for `plan` (zero-filled once, then reused).
long gc_direct_scratch_count(const gc_direct_plan *plan);

/// Runs work items [first, last) (of batch * groups * yd * bands). `scratch` is this
/// thread's, 64-byte aligned, zero-filled when allocated and used only with this plan;
/// `bias` is [groups * cout] or NULL.
void gc_direct_forward(
  const gc_direct_plan *plan, const float *x, const float *bias, float *y, float *scratch,
  long first, long last);

#ifdef __cplusplus
}
#endif
#endif
