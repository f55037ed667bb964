/* placeholder */ typedef int dob_mpi_placeholder;
