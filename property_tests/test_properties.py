"""Properties 1-4 over generated programs (profile `ci` in the default run, `long` for campaigns).

A failing example is shrunk by hypothesis and printed as the program's source
with its inputs (`Program.__repr__`).
"""
from hypothesis import given, note

from property_tests.coverage import SESSION
from property_tests.properties import (cache_behaviour, deterministic, dynamic_sizes, frees_like_eager,
                                       same_as_eager, step_is_pure)
from property_tests.strategies import programs


@given(programs())
def test_traced_program_behaves_like_eager(program):
    problems, report = same_as_eager(program)
    SESSION.add(program.tags, report.outcomes["snaptrace"].breaks)
    note(str(report))
    assert not problems, "\n".join(problems)


@given(programs(max_statements=4))
def test_capturing_twice_gives_the_same_graphs_and_guards(program):
    problems = deterministic(program)
    assert not problems, "\n".join(problems)


@given(programs(max_statements=4))
def test_same_kind_inputs_hit_the_cache_and_other_kinds_stay_correct(program):
    problems = cache_behaviour(program)
    assert not problems, "\n".join(problems)


@given(programs(max_statements=4))
def test_every_size_symbolic_from_the_first_capture_stays_correct(program):
    problems = dynamic_sizes(program)
    assert not problems, "\n".join(problems)


@given(programs(max_statements=3))
def test_step_is_pure(program):
    problems = step_is_pure(program)
    assert not problems, "\n".join(problems)


@given(programs(max_statements=4))
def test_objects_eager_frees_are_freed_under_snaptrace(program):
    problems = frees_like_eager(program)
    assert not problems, "\n".join(problems)
