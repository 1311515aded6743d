// Matrix-multiplication microkernels (dense, pointwise and many-channel grouped convolution).
#ifndef GC_GEMM_H
#define GC_GEMM_H
#endif
