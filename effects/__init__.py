"""Side effects as data: the records, the heap they act on, and their replay.

* `effects/records.py`: what the traced program did to the world outside its own new objects
  (an object that existed before the call changed, an attribute written or deleted, a global
  stored or deleted), each with its origin and the line that did it.
* `effects/heap.py`: the operations on `State.heap` (object id -> the VT holding the object's
  current contents) and `State.globals` (name -> the last write to a global).  Nothing real is
  touched while tracing; a change to an object that existed before the call is one heap update
  plus one record in `State.effects`.
* `effects/replay.py`: the final heap and log turned into bytecode that gives the real objects
  their final contents after the graph has run.
"""
