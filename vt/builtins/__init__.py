"""The builtins and library functions that work across every kind of value (min, sorted, zip, operator.*, ...), and the wrap rules that turn real objects into VTs."""
