#ifndef CAUSALREC_ALLOCATION_COUNTER_H
#define CAUSALREC_ALLOCATION_COUNTER_H

#include <stdint.h>

/// Heap allocations (malloc, calloc, realloc, aligned allocations) made by the process so far.
/// Counted by this target's definitions of the allocation functions, which forward to glibc's;
/// only the `causalrec` executable links it (for `causalrec bench`). 0 where not supported.
uint64_t cac_allocation_count(void);

#endif
