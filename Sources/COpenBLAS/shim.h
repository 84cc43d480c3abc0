// OpenBLAS's CBLAS interface (Debian: libopenblas-dev). Used single-threaded for the denoiser's
// batched matrix products; parallelism is at a higher level (DESIGN.md §9).
#pragma once
#include <cblas.h>
