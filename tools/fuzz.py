"""`python -m tracer fuzz`: a campaign of generated programs, traced and compared with eager (or Dynamo).

The campaign is a sequence of hypothesis runs ("chunks") over
`property_tests.strategies.programs()`, each with its own seed derived from
`--seed`, the job number and the chunk number, so a campaign is reproducible
and jobs never draw the same programs.  Every generated program is checked for

* property 1 (`same_as_eager`): snaptrace (and, with `--against dynamo`,
  `torch.compile(backend="eager")`) gives eager's result, exception, inputs and
  globals, and snaptrace does not crash;
* property 3 (`cache_behaviour`): same-kind inputs reuse the capture and every
  call stays correct, inputs of other sizes too (automatic dynamic), and
  `dynamic_sizes`: the same with every size and int symbolic from the first
  capture (only against eager: they are about snaptrace's cache);
* property 6 (`frees_like_eager`): what eager frees once the call is over is freed
  under snaptrace too (only against eager).

A failing program stops its chunk: hypothesis shrinks it to a minimal program,
which is written to `--out` as a standalone reproducer, and the campaign goes on
with the next chunk.  `--jobs J` runs J worker processes, each with an equal
share of the examples.
"""
from __future__ import annotations

import os
import sys
import time

import attrs

from property_tests.coverage import Coverage
from property_tests.properties import cache_behaviour, dynamic_sizes, frees_like_eager, same_as_eager
from property_tests.strategies import programs

CHUNK = 100


@attrs.define
class Failure:
    """A shrunk failing program, its problems and where its reproducer was written."""

    source: str
    problems: list
    kind: str  # "crash" or "mismatch" (snaptrace), or "dynamo" (a difference in Dynamo)
    path: str = ""


@attrs.define
class JobResult:
    examples: int
    failures: list
    coverage: object


def _problems_for(program, against: str):
    """The problems of one program: (kind, problems, report)."""
    modes = ("eager", "dynamo") if against == "dynamo" else ("eager",)
    problems, report = same_as_eager(program, against=modes)
    dynamo = [str(d) for d in report.differences if d.mode == "dynamo"]
    dynamo += [f"dynamo crashed: {c}" for m, c in report.crashes.items() if m == "dynamo"]
    if against == "eager" and not problems:
        problems = cache_behaviour(program)
    if against == "eager" and not problems:
        problems = dynamic_sizes(program)
    if against == "eager" and not problems:
        problems = frees_like_eager(program)
    if problems:
        kind = "crash" if any("crashed" in p or "internal tracer error" in p for p in problems) else "mismatch"
        return kind, problems, report
    if dynamo:
        return "dynamo", dynamo, report
    return None, [], report


SHRINK_SECONDS = 60.0


def _key(program) -> tuple:
    return program.source, program.inputs_source()


def run_job(examples: int, seed: int, job: int, against: str, out: str | None, progress=None,
            shrink_seconds: float = SHRINK_SECONDS) -> JobResult:
    """Run `examples` programs in chunks; `progress(n_done, n_failures)` is called after each program.

    Shrinking a failure gets `shrink_seconds`: after that every new candidate is
    treated as passing, so hypothesis settles on the smallest failure found so far.
    """
    from hypothesis import HealthCheck, given, settings
    from hypothesis import seed as hypothesis_seed


    coverage, failures, done = Coverage(), [], 0
    chunk = 0
    while done < examples:
        size = min(CHUNK, examples - done)
        state = {"counting": True, "last": None}
        done_before = done

        def body(program):
            if not state["counting"] and time.time() > state["deadline"]:
                if _key(program) != _key(state["last"][0]):
                    return  # out of shrinking time: only the best failure so far still fails
            try:
                kind, problems, report = _problems_for(program, against)
            except Exception as exc:  # a failure of the harness itself is reported, not hidden
                kind, problems, report = "crash", [f"checking raised {type(exc).__name__}: {exc}"], None
            if state["counting"]:
                nonlocal done
                done += 1
                breaks = report.outcomes["snaptrace"].breaks if report else ()
                coverage.add(program.tags, breaks)
                if progress:
                    progress(done, len(failures) + (1 if kind else 0))
            if kind:
                if state["counting"]:
                    state["deadline"] = time.time() + shrink_seconds
                state["counting"] = False
                state["last"] = (program, kind, problems)
                raise AssertionError("\n".join(problems))

        test = settings(max_examples=size, database=None, deadline=None, derandomize=False,
                        suppress_health_check=list(HealthCheck), print_blob=False)(given(programs())(body))
        test = hypothesis_seed(hash((seed, job, chunk)) & 0xFFFFFFFF)(test)
        try:
            test()
        except Exception:
            if state["last"] is None:
                raise
            program, kind, problems = state["last"]  # the last failing call is the shrunk program
            failure = Failure(repr(program), problems, kind)
            if out:
                modes = ("eager", "dynamo") if against == "dynamo" else ("eager",)
                failure.path = _write_reproducer(out, f"{kind}_seed{seed}_job{job}_chunk{chunk}.py", program,
                                                 problems, modes)
            failures.append(failure)
        if done == done_before:  # hypothesis generated nothing new: stop rather than loop forever
            break
        chunk += 1
    return JobResult(done, failures, coverage)


def _write_reproducer(out: str, name: str, program, problems, against) -> str:
    os.makedirs(out, exist_ok=True)
    path = os.path.join(out, name)
    with open(path, "w") as handle:
        handle.write(program.reproducer("\n".join(problems), against))
    return path


def _job_entry(args):
    examples, seed, job, against, out, queue, shrink_seconds = args
    report = (lambda done, failed: queue.put((job, done, failed))) if queue is not None else None
    return run_job(examples, seed, job, against, out, report, shrink_seconds)


class ProgressBar:
    """A one-line progress bar on stderr (redrawn in place when stderr is a terminal)."""

    def __init__(self, total: int, stream=sys.stderr):
        self.total, self.stream, self.start = total, stream, time.time()
        self.tty = stream.isatty()
        self.last_line = 0.0

    def show(self, done: int, failed: int, final: bool = False):
        now = time.time()
        if not final and not self.tty and now - self.last_line < 10:
            return
        self.last_line = now
        width = 30
        filled = int(width * done / max(self.total, 1))
        rate = done / max(now - self.start, 1e-9)
        text = (f"[{'#' * filled}{'.' * (width - filled)}] {done}/{self.total} programs, "
                f"{failed} failing, {rate:.1f}/s")
        self.stream.write(("\r" + text) if self.tty else text + "\n")
        if final and self.tty:
            self.stream.write("\n")
        self.stream.flush()


def run_campaign(examples: int, seed: int = 0, against: str = "eager", out: str | None = None,
                 jobs: int = 1, show_progress: bool = True, shrink_seconds: float = SHRINK_SECONDS):
    """Run the campaign (in `jobs` processes); returns (examples run, failures, merged Coverage)."""
    bar = ProgressBar(examples) if show_progress else None
    shares = [examples // jobs + (1 if j < examples % jobs else 0) for j in range(jobs)]
    if jobs == 1:
        result = run_job(examples, seed, 0, against, out, bar.show if bar else None, shrink_seconds)
        results = [result]
    else:
        results = _run_parallel(shares, seed, against, out, bar, shrink_seconds)
    coverage = Coverage()
    for result in results:
        coverage.merge(result.coverage)
    total = sum(r.examples for r in results)
    failures = [f for r in results for f in r.failures]
    if bar:
        bar.show(total, len(failures), final=True)
    return total, failures, coverage


def _run_parallel(shares, seed, against, out, bar, shrink_seconds):
    import multiprocessing
    import queue as queue_module

    context = multiprocessing.get_context("spawn")
    with context.Manager() as manager:
        queue = manager.Queue()
        with context.Pool(len(shares)) as pool:
            pending = pool.map_async(_job_entry, [(n, seed, j, against, out, queue, shrink_seconds)
                                                     for j, n in enumerate(shares)])
            progress = {}
            while not pending.ready():
                try:
                    job, done, failed = queue.get(timeout=0.5)
                    progress[job] = (done, failed)
                    if bar:
                        bar.show(sum(d for d, _ in progress.values()), sum(f for _, f in progress.values()))
                except queue_module.Empty:
                    pass
            return pending.get()


def summary(total: int, failures: list, against: str) -> str:
    crashes = sum(1 for f in failures if f.kind == "crash")
    mismatches = sum(1 for f in failures if f.kind == "mismatch")
    dynamo = sum(1 for f in failures if f.kind == "dynamo")
    lines = [f"fuzz summary: {total} programs against {against}: {mismatches} snaptrace mismatch(es), "
             f"{crashes} snaptrace crash(es)" + (f", {dynamo} Dynamo difference(s)" if against == "dynamo" else "")]
    for failure in failures:
        where = f" -> {failure.path}" if failure.path else ""
        lines.append(f"  [{failure.kind}] {failure.problems[0].splitlines()[0][:150]}{where}")
    return "\n".join(lines)


__all__ = ["run_campaign", "run_job", "summary", "Failure"]
