#ifndef CAUSALREC_ALLOCATION_COUNTER_H
#define CAUSALREC_ALLOCATION_COUNTER_H

#include <stdint.h>

/// Whether heap allocations are being counted: true when the CAllocationInterposer library was
/// preloaded (bench/run.sh does; `causalrec` itself defines no allocator symbol).
int cac_allocation_counting(void);

/// Heap allocations (malloc, calloc, realloc, aligned allocations) made by the process so far;
/// 0 when not counting.
uint64_t cac_allocation_count(void);

#endif
