// OpenBLAS's CBLAS interface (Debian: libopenblas-dev). Used single-threaded for the denoiser's
// batched matrix products; parallelism is at a higher level (the trainer's threads).
#pragma once
#include <cblas.h>

// Two LAPACK routines that OpenBLAS exports (Fortran calling convention, column-major): the
// Cholesky factorisation of a symmetric positive-definite matrix and the inverse from it — what
// EASE's closed form needs. Declared here because Debian's libopenblas-dev ships no lapack.h.
void dpotrf_(const char *uplo, const int *n, double *a, const int *lda, int *info);
void dpotri_(const char *uplo, const int *n, double *a, const int *lda, int *info);
