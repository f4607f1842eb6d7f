"""Things the traced program calls: builtins, Python functions and methods, torch functions, classes, exceptions, generators, functools wrappers."""
