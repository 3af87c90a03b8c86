/* Open MPI's C API (Debian's libopenmpi-dev, found through pkg-config's ompi-c) for the communicator plugin. */
#include <mpi.h>
