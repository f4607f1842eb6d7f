"""Plain data and tensors: constants, tensors, tuples, lists, dicts, sets, their methods, operators and iterators."""
