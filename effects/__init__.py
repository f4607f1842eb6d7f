"""Side effects as data.

Objects the traced code creates or mutates live in `State.heap` (a pyrsistent
map from object id to VT) and are reached through handles (`ListVariable.oid`,
`DictVariable.oid`); `State.allocate`, `State.update_object` and
`State.current` are the operations on it.  `State.effects` is the persistent
log of mutations to objects that existed before the call; with only
trace-created objects supported so far it stays empty, and the capture
rebuilds created objects from their final heap contents.
"""
