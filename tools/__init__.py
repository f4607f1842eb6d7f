"""Tools built on the library: the command line, the demo, the fuzzing campaign driver, the docs table.

This is the only package that may import `property_tests` (the fuzzer's program generator).
"""
