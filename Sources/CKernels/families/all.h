// Every kernel family; included once per instruction set with GC_ISA(name) defined.
// Not a public header: each inclusion defines functions with ISA-suffixed names.
#include "vector.h"
#include "peak.h"
