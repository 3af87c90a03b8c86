/* OpenBLAS from Debian's libopenblas-dev: every matmul goes through cblas_sgemm. */
#include <cblas.h>
