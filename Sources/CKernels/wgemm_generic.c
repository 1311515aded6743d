// The weight-gradient matrix product for the baseline instruction set.
#define GC_ISA(name) name##_generic
#include "families/vector.h"
#include "families/wgemm.h"
