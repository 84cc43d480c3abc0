// The allocation counter of the benchmarks, as a shared library that is preloaded
// (LD_PRELOAD=libCAllocationInterposer.so causalrec bench ...), never linked into `causalrec`:
// an executable that defines malloc but not free hands a preloaded allocator (jemalloc,
// tcmalloc, mimalloc) pointers it never allocated. Preloaded, it interposes every allocation
// function the counter needs and leaves free to glibc, which owns every pointer it returns.
#include "allocation_interposer.h"

#if defined(__GLIBC__) && defined(__linux__)
#include <stdatomic.h>
#include <stddef.h>
#include <errno.h>

// glibc exports its allocator under these names, so the definitions below can interpose the
// public ones (the executable's symbols win over libc's) and still reach the real allocator.
extern void *__libc_malloc(size_t size);
extern void *__libc_calloc(size_t count, size_t size);
extern void *__libc_realloc(void *pointer, size_t size);
extern void *__libc_memalign(size_t alignment, size_t size);

static _Atomic uint64_t allocations;

uint64_t causalrec_interposed_allocation_count(void) { return atomic_load_explicit(&allocations, memory_order_relaxed); }

static inline void count(void) { atomic_fetch_add_explicit(&allocations, 1, memory_order_relaxed); }

void *malloc(size_t size) { count(); return __libc_malloc(size); }
void *calloc(size_t count_, size_t size) { count(); return __libc_calloc(count_, size); }
void *realloc(void *pointer, size_t size) { count(); return __libc_realloc(pointer, size); }
void *memalign(size_t alignment, size_t size) { count(); return __libc_memalign(alignment, size); }
void *aligned_alloc(size_t alignment, size_t size) { count(); return __libc_memalign(alignment, size); }
int posix_memalign(void **result, size_t alignment, size_t size) {
    if (alignment % sizeof(void *) != 0 || (alignment & (alignment - 1)) != 0) return EINVAL;
    count();
    void *pointer = __libc_memalign(alignment, size);
    if (pointer == NULL && size != 0) return ENOMEM;
    *result = pointer;
    return 0;
}

#else

uint64_t causalrec_interposed_allocation_count(void) { return 0; }

#endif
