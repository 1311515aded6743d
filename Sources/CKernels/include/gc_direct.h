// Direct convolution microkernels (depthwise and few-channel grouped convolution).
#ifndef GC_DIRECT_H
#define GC_DIRECT_H
#endif
