/* placeholder */ typedef int dob_io_placeholder;
