#ifndef CAUSALREC_ALLOCATION_INTERPOSER_H
#define CAUSALREC_ALLOCATION_INTERPOSER_H

#include <stdint.h>

/// Heap allocations made by the process since the library was loaded (found by the benchmarks
/// through dlsym; see allocation_counter.h).
uint64_t causalrec_interposed_allocation_count(void);

#endif
