#define _GNU_SOURCE
#include "allocation_counter.h"
#include <dlfcn.h>
#include <stddef.h>

// The counting itself lives in the preloaded CAllocationInterposer library; this only finds it.
typedef uint64_t (*count_function)(void);

static count_function lookup(void) {
    static count_function function = NULL;
    static int looked = 0;
    if (!looked) {
        function = (count_function)dlsym(RTLD_DEFAULT, "causalrec_interposed_allocation_count");
        looked = 1;
    }
    return function;
}

int cac_allocation_counting(void) { return lookup() != NULL; }

uint64_t cac_allocation_count(void) {
    count_function function = lookup();
    return function ? function() : 0;
}
