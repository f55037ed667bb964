/* comm_native.h (internal to mpi/ and the one io/ file that opens parallel HDF5): the MPI_Comm of a dob_comm. */
#ifndef DOB_COMM_NATIVE_H
#define DOB_COMM_NATIVE_H
#include <mpi.h>

#include "dob/comm.h"

MPI_Comm dob_comm_native(const dob_comm *c);

#endif
