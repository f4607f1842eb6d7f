"""Objects of the user's classes: attributes, the data model's dunders, classes, records (named tuples, enums, dataclasses), context managers."""
