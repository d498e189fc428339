"""The ``lifelong`` command line: each command is a thin call of a public library function."""
