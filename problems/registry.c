/* placeholder */ typedef int dob_problems_placeholder;
