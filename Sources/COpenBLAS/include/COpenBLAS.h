// COpenBLAS.h — OpenBLAS, opened by gen when it is first needed (or ahead of that, on a thread of
// its own) instead of by the dynamic loader at start-up (blas.c says why).
#ifndef GEN_COPENBLAS_H
#define GEN_COPENBLAS_H

// cblas's types and enums (Debian: libopenblas-dev puts cblas.h under the multiarch include dir).
// Of its functions gen calls cblas_sgemm and cblas_sgemv, defined in blas.c.
#include <cblas.h>

// OpenBLAS extensions; declared here so the header does not depend on which cblas.h alternative is
// active. Defined in blas.c too.
void openblas_set_num_threads(int num_threads);
int openblas_get_num_threads(void);
char *openblas_get_corename(void);

/// Opens OpenBLAS (once per process) on a thread of its own and returns at once (a start-up that
/// has other work to do first). The process's environment must not change until it has opened:
/// OpenBLAS reads its settings (OPENBLAS_*) from it while it opens.
void gk_blas_open_in_background(void);

/// A function or variable of the opened OpenBLAS (its hooks), or NULL; opens it first.
void *gk_blas_symbol(const char *name);

#endif
