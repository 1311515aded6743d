// The channel-blocked family for the baseline instruction set.
#define GC_ISA(name) name##_generic
#include "families/vector.h"
#include "families/blocked.h"
