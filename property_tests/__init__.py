"""Property-based tests of snaptrace: generated Python programs traced and compared with eager.

`property_tests.strategies.programs()` is the public entry point (see docs/fuzzing.md):
a hypothesis strategy of `Program`s, whole Python functions with their inputs.
"""
