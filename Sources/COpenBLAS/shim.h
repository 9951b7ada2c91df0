// cblas from OpenBLAS (Debian: libopenblas-dev puts cblas.h under the multiarch include dir).
#include <cblas.h>
// OpenBLAS extensions; declared here so the shim does not depend on which cblas.h alternative is active.
void openblas_set_num_threads(int num_threads);
int openblas_get_num_threads(void);
char* openblas_get_corename(void);
