"""Property 5, rollback: continuing from any snapshot of a trace reaches the straight run's end.

A hypothesis state machine walks one generated program's trace with `step`,
keeping every State it passed; a rule jumps back to any earlier snapshot. After
every rule, running on from the current state must give the same final state and
the same stop as running the whole trace in one go. States are compared with
`==`: fake tensors and real input values are excluded from VT equality, so what
is compared is the frame, the heap, the graph log (ops and arguments), guards,
effects and ids.
"""
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, precondition, rule

from property_tests.strategies import programs
from tracer.capture import start_state
from tracer.check import fresh_copy
from tracer.step import run, step


class RollbackMachine(RuleBasedStateMachine):
    @initialize(program=programs(max_statements=3))
    def load(self, program):
        fn = program.load()
        try:
            self.start = start_state(fn, fresh_copy(program.inputs), {})
        except TypeError:  # cannot happen with generated signatures; keep the machine total anyway
            self.start = None
            return
        self.reference = run(self.start)
        self.snapshots = [self.start]
        self.stopped = False

    @precondition(lambda self: self.start is not None and not self.stopped)
    @rule()
    def step_forward(self):
        result = step(self.snapshots[-1])
        state = result.value_or(None)
        if state is None:
            self.stopped = True
        else:
            self.snapshots.append(state)

    @precondition(lambda self: self.start is not None)
    @rule(data=st.data())
    def roll_back(self, data):
        index = data.draw(st.integers(0, len(self.snapshots) - 1), label="snapshot")
        self.snapshots = self.snapshots[:index + 1]
        self.stopped = False

    @invariant()
    def continuing_reaches_the_same_end(self):
        if getattr(self, "start", None) is None:
            return
        final, stop = run(self.snapshots[-1])
        ref_final, ref_stop = self.reference
        assert stop == ref_stop
        assert final == ref_final


TestRollback = RollbackMachine.TestCase
