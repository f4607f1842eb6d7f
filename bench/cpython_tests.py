"""Conformance harness: CPython 3.11's own unit tests, run eagerly and through snaptrace.

    python bench/cpython_tests.py [--modules test_list,test_dict] [--json PATH]
                                  [--against snaptrace,strict,dynamo] [--methods REGEX]
                                  [--method-timeout 60] [--module-timeout 5400] [--jobs 1]

A long job (minutes per module); it is an explicit command and never part of the pytest run.

For every test method of every `unittest.TestCase` in the listed modules of `Lib/test`
(default: the 13 modules of the conformance issue, `DEFAULT_MODULES`) the method is run

* `eager`     : as unittest runs it;
* `snaptrace` : with the test method replaced by `tracer.compile(function)` called with the
                instance (`Traced(fn)(self)`), a fresh `Traced` per method so no capture leaks
                from one method into another.  This is the user-visible outcome and the
                headline number;
* `strict`    : the same with `tracer.capture.STRICT` set (what `SNAPTRACE_STRICT=1` sets at
                import; it is read nowhere else), so an exception inside the tracer propagates
                instead of becoming an eager fallback.  Every exception that escapes a capture
                is also recorded with its innermost frame, even when the test swallows it
                (`assertRaises(TypeError)` around a tracer TypeError still "passes");
* `dynamo`    : (only with `--against ...,dynamo`) `torch.compile(fn, backend="eager")` after
                `torch._dynamo.reset()`, for comparison.

Setup and teardown (`setUp`, `setUpClass`, `setUpModule`, cleanups) run eagerly, as unittest
runs them; only the test method's own body is compiled.  Doctests added by `load_tests` are
not test methods and are left out.

Outcome of one run: `pass`, `fail` (AssertionError; the message is kept), `error` (exception
type and message), `skip`, `xfail` (expected failure), `xpass` (unexpected success),
`timeout` (the method ran longer than `--method-timeout`; SIGALRM raises `MethodTimeout`, a
BaseException, inside it), `crash` (the worker process died in this method).  Two outcomes are
the same when the status is the same and, for `error`, the exception type is the same.

Each differing method is classified:

* `internal`   (a): snaptrace raised inside its own code: the innermost traceback frame is in the
                    project's core/, effects/, vt/, tracer/ or graph/ packages or in generated code
                    (`<snaptrace ...>`), or the message says "internal tracer error" (for
                    `dynamo`: an InternalTorchDynamoError or a frame in torch/_dynamo);
* `wrong`      (b): a wrong answer or a different exception, raised from the test's or the
                    library's code;
* `timeout`    (b): eager finished, the traced run hit the per-method timeout;
* `eager-only` (c): the eager run is not reproducible: a second eager run, made after the traced
                    runs, gives a different outcome than the first (timing, leaked state, ...).

Each module runs in its own worker subprocess (cwd: a fresh temporary directory) with a
module timeout; a worker that dies (a hard per-method timeout through
`faulthandler.dump_traceback_later(exit=True)`, a segfault) is restarted after the method it died
in, which is reported as `timeout` or `crash`.  Test output goes to `<tmpdir>/MODULE.log`.

Output: a progress line per module, a summary table (methods, same outcome, differ, % same,
methods with snaptrace-internal failures in strict mode and internal-error fallbacks in the
default mode), the internal-failure sites (file:line of the innermost tracer frame), and with
`--json PATH` every differing method (module, class, method, each mode's outcome, traceback
excerpt, graph-break reasons) plus every internal failure.

Worker mode (used by the parent): `python bench/cpython_tests.py --worker MODULE --out FILE`.
"""
from __future__ import annotations

import argparse
import collections
import datetime
import doctest
import faulthandler
import inspect
import json
import os
import re
import signal
import subprocess
import sys
import tempfile
import time
import traceback
import unittest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
PACKAGES = ("core", "effects", "vt", "tracer", "graph")
DEFAULT_MODULES = ("test_list", "test_tuple", "test_dict", "test_set", "test_functools", "test_collections",
                   "test_ordered_dict", "test_exceptions", "test_contextlib", "test_class", "test_scope",
                   "test_fstring", "test_patma")
TRACED_MODES = ("snaptrace", "strict", "dynamo")
MAX_BREAKS = 25           # graph-break reasons kept per run
MAX_TB_LINES = 30         # traceback lines kept per run
MAX_MESSAGE = 400
MAX_RESTARTS = 40


def _internal_file(filename: str) -> bool:
    if filename.startswith("<snaptrace"):
        return True
    path = os.path.abspath(filename)
    return any(path.startswith(os.path.join(ROOT, p) + os.sep) for p in PACKAGES)


HELPER_FRAMES = ("site-packages/pyrsistent/", "site-packages/attr/", "site-packages/returns/", "<attrs generated")


def _internal_site(frames):
    """The frame a traceback's exception comes from when that is snaptrace's own code, else None.

    Frames of the tracer's helper libraries (pyrsistent, attrs, returns) are looked through, so a
    RecursionError inside a persistent map that the tracer walks counts as the tracer's.  An
    exception re-raised by `raising_entry` is the traced program's own (modelled) exception."""
    for f in reversed(frames):
        filename, name = f[0], f[2]
        if filename.endswith("graph/raise_entry.py") and name == "raising_entry":
            return None
        if any(h in filename for h in HELPER_FRAMES):
            continue
        return f if _internal_file(filename) else None
    return None


def _short(filename: str) -> str:
    path = os.path.abspath(filename)
    return os.path.relpath(path, ROOT) if path.startswith(ROOT + os.sep) else filename


# --------------------------------------------------------------------------- worker

class MethodTimeout(BaseException):
    """Raised by SIGALRM inside a test method that ran too long (a BaseException, so `except
    Exception` in the test does not swallow it)."""


def _on_alarm(signum, frame):
    raise MethodTimeout("method timeout")


class Collector(unittest.TestResult):
    """The outcome of one test instance (subtests folded in: the worst one wins)."""

    RANK = {"pass": 0, "skip": 1, "xfail": 2, "xpass": 3, "fail": 4, "error": 5, "timeout": 6}

    def __init__(self):
        super().__init__()
        self.outcome = None  # (status, exc_type, message, tb_lines, innermost, internal)
        self.outcome_extra = {}  # frames, site (innermost snaptrace frame), modelled
        self.extra = {}

    def _set(self, status, err=None, message=""):
        info = (status, None, message, [], None, False)
        if err is not None:
            etype, value, tb = err
            if isinstance(value, MethodTimeout):
                status = "timeout"
            frames = traceback.extract_tb(tb)
            innermost = f"{_short(frames[-1].filename)}:{frames[-1].lineno} in {frames[-1].name}" if frames else None
            text = "".join(traceback.format_exception(etype, value, tb))
            lines = text.rstrip("\n").splitlines()
            if len(lines) > MAX_TB_LINES:
                lines = lines[:4] + ["  ..."] + lines[-(MAX_TB_LINES - 5):]
            msg = f"{etype.__name__}: {value}"
            raw = [(f.filename, f.lineno, f.name) for f in frames]
            if status == "timeout":  # where it was when the alarm fired
                raw = [f for f in raw if not f[0].endswith("cpython_tests.py")]
            site = _internal_site(raw)
            internal = (site is not None and status != "timeout") or "internal tracer error" in msg
            self.extra = {"frames": [(_short(f[0]), f[1], f[2]) for f in raw[-12:]],
                          "site": f"{_short(site[0])}:{site[1]} in {site[2]}" if site else None,
                          "modelled": bool(raw) and raw[-1][0].endswith("graph/raise_entry.py")}
            info = (status, f"{etype.__module__}.{etype.__qualname__}" if etype.__module__ != "builtins"
                    else etype.__qualname__, msg[:MAX_MESSAGE], lines, innermost, internal)
        if self.outcome is None or self.RANK[status] > self.RANK[self.outcome[0]]:
            self.outcome = info
            self.outcome_extra = getattr(self, "extra", {})
        self.extra = {}

    def addSuccess(self, test):
        self._set("pass")

    def addError(self, test, err):
        self._set("error", err)

    def addFailure(self, test, err):
        self._set("fail", err)

    def addSkip(self, test, reason):
        self._set("skip", message=str(reason)[:MAX_MESSAGE])

    def addExpectedFailure(self, test, err):
        self._set("xfail")

    def addUnexpectedSuccess(self, test):
        self._set("xpass")

    def addSubTest(self, test, subtest, err):
        if err is not None:
            self._set("fail" if issubclass(err[0], test.failureException) else "error", err)


class CaptureSpy:
    """Wraps `tracer.api.capture` (the one call site of captures, resume functions included) to
    record every exception that escapes a capture, with its innermost frame.  Only escapes in
    strict mode; the default mode turns them into "internal tracer error" breaks."""

    def __init__(self, api):
        self.api, self.real, self.escapes = api, api.capture, []
        api.capture = self

    def __call__(self, fn, *args, **kwargs):
        try:
            return self.real(fn, *args, **kwargs)
        except BaseException as exc:
            if not isinstance(exc, MethodTimeout):
                frames = traceback.extract_tb(exc.__traceback__)
                raw = [(f.filename, f.lineno, f.name) for f in frames]
                inner = [f for f in raw if _internal_file(f[0])]
                site = inner[-1] if inner else None
                self.escapes.append({
                    "exc": f"{type(exc).__name__}: {str(exc)[:MAX_MESSAGE]}",
                    "innermost": f"{_short(raw[-1][0])}:{raw[-1][1]} in {raw[-1][2]}",
                    "site": f"{_short(site[0])}:{site[1]} in {site[2]}" if site else None,
                    "internal": _internal_site(raw) is not None,
                    "capturing": getattr(fn, "__qualname__", repr(fn)),
                    "tb": traceback.format_exception(type(exc), exc, exc.__traceback__)[-MAX_TB_LINES:],
                })
            raise


def _break_text(b) -> str:
    reason = " ".join(str(b.reason).split())
    return f"[{b.kind.value}] {reason[:300]} @ {_short(b.filename)}:{b.lineno}"


def _traced_runner(mode, inst, name, func, info):
    """A zero-argument replacement for the test method, carrying unittest's skip/xfail marks."""
    if mode == "dynamo":
        import torch
        import torch._dynamo
        from torch._dynamo.utils import counters

        torch._dynamo.reset()
        counters.clear()
        compiled = torch.compile(func, backend="eager")
        info["dynamo_counters"] = counters

        def runner():
            return compiled(inst)
    else:
        import tracer

        traced = tracer.compile(func)
        info["traced"] = traced

        def runner():
            return traced(inst)
    for attr in ("__unittest_skip__", "__unittest_skip_why__", "__unittest_expecting_failure__"):
        if hasattr(func, attr):
            setattr(runner, attr, getattr(func, attr))
    runner.__name__ = name
    return runner


def _test_methods(module):
    """[(class, method name)] of the module's TestCase methods, in unittest's load order."""
    loader = unittest.TestLoader()
    suite = loader.loadTestsFromModule(module)
    out = []

    def walk(s):
        for t in s:
            if isinstance(t, unittest.TestSuite):
                walk(t)
            elif isinstance(t, unittest.TestCase) and not isinstance(t, doctest.DocTestCase):
                name = t._testMethodName
                if isinstance(inspect.getattr_static(type(t), name, None), (type(lambda: 0), staticmethod,
                                                                           classmethod)):
                    out.append((type(t), name))
    walk(suite)
    return out


def _key(cls, name):
    return f"{cls.__qualname__}.{name}"


def _same(a: dict, b: dict) -> bool:
    return a["status"] == b["status"] and (a["status"] != "error" or a["exc_type"] == b["exc_type"])


def worker(args) -> int:
    import importlib

    sys.setrecursionlimit(max(sys.getrecursionlimit(), 1000))
    out = open(args.out, "a", buffering=1)
    skip = set()
    if args.skip and os.path.exists(args.skip):
        skip = set(json.load(open(args.skip)))
    modes = [m for m in args.modes.split(",") if m]

    def emit(rec):
        out.write(json.dumps(rec) + "\n")
        out.flush()

    import tracer
    import tracer.api
    import tracer.capture

    if not os.path.abspath(tracer.__file__).startswith(ROOT + os.sep):
        emit({"event": "fatal", "message": f"tracer imported from {tracer.__file__}, not {ROOT}"})
        return 2
    spy = CaptureSpy(tracer.api)
    try:
        module = importlib.import_module(f"test.{args.worker}")
    except BaseException as exc:  # noqa: BLE001
        emit({"event": "fatal", "message": f"import failed: {type(exc).__name__}: {exc}"})
        return 2
    pattern = re.compile(args.methods) if args.methods else None
    methods = [(c, n) for c, n in _test_methods(module)
               if _key(c, n) not in skip and (pattern is None or pattern.search(_key(c, n)))]
    emit({"event": "methods", "count": len(methods)})
    signal.signal(signal.SIGALRM, _on_alarm)
    log = open(args.log, "a") if args.log else sys.stderr

    def run_one(cls, name, mode):
        inst = cls(name)
        info = {}
        emit({"event": "start", "key": _key(cls, name), "mode": mode})
        rec = {"event": "result", "key": _key(cls, name), "cls": cls.__qualname__, "method": name, "mode": mode}
        start = time.perf_counter()
        escapes_before = len(spy.escapes)
        tracer.capture.STRICT = mode == "strict"
        result = Collector()
        faulthandler.dump_traceback_later(args.method_timeout * 2 + 60, exit=True, file=log)
        try:
            if mode not in ("eager", "eager2"):
                func = inspect.getattr_static(cls, name)
                func = func.__func__ if isinstance(func, (staticmethod, classmethod)) else func
                try:
                    setattr(inst, name, _traced_runner(mode, inst, name, func, info))
                except Exception as exc:  # noqa: BLE001  NotTraceableError and the like
                    rec.update(status="untraceable", exc_type=type(exc).__name__, message=str(exc)[:MAX_MESSAGE],
                               tb=[], innermost=None, internal=False, seconds=0.0)
                    emit(rec)
                    return rec
            signal.alarm(args.method_timeout)
            try:
                inst.run(result)
            finally:
                signal.alarm(0)
        except MethodTimeout:  # fired outside the test's own try blocks (tearDown, cleanups)
            result._set("timeout", sys.exc_info())
        finally:
            faulthandler.cancel_dump_traceback_later()
            tracer.capture.STRICT = False
        status, etype, msg, tb, innermost, internal = result.outcome or ("error", "NoOutcome", "", [], None, False)
        rec.update(status=status, exc_type=etype, message=msg, tb=tb, innermost=innermost, internal=internal,
                   seconds=round(time.perf_counter() - start, 3), **result.outcome_extra)
        traced = info.get("traced")
        if traced is not None:
            try:
                breaks = list(traced.graph_breaks)
            except Exception as exc:  # noqa: BLE001
                breaks = []
                rec["breaks_error"] = f"{type(exc).__name__}: {exc}"
            texts = collections.Counter(_break_text(b) for b in breaks)
            rec["n_breaks"] = len(breaks)
            rec["breaks"] = [f"{n}x {t}" if n > 1 else t for t, n in texts.most_common(MAX_BREAKS)]
            rec["internal_breaks"] = sorted({" ".join(str(b.reason).split())[:MAX_MESSAGE] for b in breaks
                                             if "internal tracer error" in str(b.reason)})
            rec["captures"] = len(traced.captures)
        if "dynamo_counters" in info:
            gb = info["dynamo_counters"].get("graph_break", {})
            rec["n_breaks"] = sum(gb.values())
            rec["breaks"] = [f"{n}x {str(t)[:300]}" for t, n in collections.Counter(gb).most_common(MAX_BREAKS)]
        rec["escapes"] = spy.escapes[escapes_before:]
        del spy.escapes[escapes_before:]
        emit(rec)
        return rec

    # class and module fixtures run once, eagerly, as unittest's suite would run them
    setup_module = getattr(module, "setUpModule", None)
    if setup_module is not None:
        setup_module()
    by_class = collections.OrderedDict()
    for cls, name in methods:
        by_class.setdefault(cls, []).append(name)
    for cls, names in by_class.items():
        class_error = None
        if not getattr(cls, "__unittest_skip__", False):
            try:
                cls.setUpClass()
            except unittest.SkipTest:
                pass  # each instance reports the skip itself
            except Exception as exc:  # noqa: BLE001
                class_error = f"setUpClass: {type(exc).__name__}: {exc}"
                cls.doClassCleanups()
        for name in names:
            if class_error is not None:
                for mode in ["eager"] + modes:
                    emit({"event": "result", "key": _key(cls, name), "cls": cls.__qualname__, "method": name,
                          "mode": mode, "status": "error", "exc_type": "setUpClass", "message": class_error,
                          "tb": [], "innermost": None, "internal": False, "seconds": 0.0})
                continue
            eager = run_one(cls, name, "eager")
            differs = False
            timed_out = False
            for mode in modes:
                if mode == "strict" and timed_out:  # a hang in the tracer hangs strict mode too: save the wait
                    rec = {**rec, "mode": "strict", "message": "not rerun: the default mode timed out",
                           "escapes": []}
                    emit(rec)
                else:
                    rec = run_one(cls, name, mode)
                timed_out = timed_out or (mode == "snaptrace" and rec["status"] == "timeout")
                differs = differs or not _same(eager, rec)
            if differs:
                run_one(cls, name, "eager2")
        if class_error is None and not getattr(cls, "__unittest_skip__", False):
            try:
                cls.tearDownClass()
            except Exception:  # noqa: BLE001
                pass
            cls.doClassCleanups()
    teardown_module = getattr(module, "tearDownModule", None)
    if teardown_module is not None:
        teardown_module()
    unittest.case.doModuleCleanups()
    emit({"event": "done"})
    return 0


# --------------------------------------------------------------------------- parent

def run_module(module: str, args, workdir: str) -> dict:
    """Run one module's worker (restarting it after a method that killed it); the merged
    records: key -> {"cls", "method", mode -> record}."""
    out = os.path.join(workdir, f"{module}.jsonl")
    log = os.path.join(workdir, f"{module}.log")
    skip_file = os.path.join(workdir, f"{module}.skip.json")
    for path in (out, log, skip_file):
        if os.path.exists(path):
            os.remove(path)
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([ROOT] + [p for p in os.environ.get("PYTHONPATH", "")
                                                                 .split(os.pathsep) if p]),
               SNAPTRACE_STRICT="0", PYTHONFAULTHANDLER="1")
    deadline = time.monotonic() + args.module_timeout
    modes = [m for m in args.against.split(",") if m]
    notes = []
    done_keys: set = set()
    total = None
    for attempt in range(MAX_RESTARTS):
        cmd = [sys.executable, os.path.abspath(__file__), "--worker", module, "--out", out, "--log", log,
               "--skip", skip_file, "--modes", ",".join(modes), "--method-timeout", str(args.method_timeout)]
        if args.methods:
            cmd += ["--methods", args.methods]
        cwd = tempfile.mkdtemp(prefix=f"{module}-", dir=workdir)
        with open(log, "a") as logf:
            proc = subprocess.Popen(cmd, cwd=cwd, env=env, stdout=logf, stderr=subprocess.STDOUT)
            try:
                rc = proc.wait(timeout=max(1.0, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
                rc = None
        events = [json.loads(line) for line in open(out) if line.strip()] if os.path.exists(out) else []
        if total is None:
            total = next((e["count"] for e in events if e["event"] == "methods"), None)
        if any(e["event"] == "fatal" for e in events):
            notes.append(next(e["message"] for e in events if e["event"] == "fatal"))
            break
        if events and events[-1]["event"] == "done":
            break
        # died (or the module timed out) inside the last started run
        started = [e for e in events if e["event"] == "start"]
        finished = {(e["key"], e["mode"]) for e in events if e["event"] == "result"}
        last = started[-1] if started else None
        if last is not None and (last["key"], last["mode"]) not in finished:
            status = "timeout" if rc is None or _log_says_timeout(log) else "crash"
            with open(out, "a") as f:
                f.write(json.dumps({"event": "result", "key": last["key"], "cls": last["key"].rsplit(".", 1)[0],
                                    "method": last["key"].rsplit(".", 1)[1], "mode": last["mode"],
                                    "status": status, "exc_type": None, "message": f"worker exit code {rc}",
                                    "tb": _log_tail(log), "innermost": None, "internal": False,
                                    "seconds": None}) + "\n")
        done_keys |= {e["key"] for e in events if e["event"] in ("start", "result")}
        json.dump(sorted(done_keys), open(skip_file, "w"))
        if rc is None:
            notes.append(f"module timeout after {args.module_timeout}s")
            break
        notes.append(f"worker restarted after {last['key'] if last else '?'} ({last['mode'] if last else '?'}),"
                     f" exit code {rc}")
    events = [json.loads(line) for line in open(out) if line.strip()] if os.path.exists(out) else []
    merged: dict = {}
    for e in events:
        if e["event"] == "result":
            merged.setdefault(e["key"], {"cls": e["cls"], "method": e["method"]})[e["mode"]] = e
    return {"records": merged, "notes": notes, "total": total}


def _log_says_timeout(log: str) -> bool:
    try:
        return "Timeout (" in open(log, errors="replace").read()[-20000:]
    except OSError:
        return False


def _log_tail(log: str, n: int = 25) -> list:
    try:
        return open(log, errors="replace").read().splitlines()[-n:]
    except OSError:
        return []


def classify(rec: dict, mode: str) -> str | None:
    """None when `mode` gives eager's outcome, else the difference class."""
    eager, other = rec.get("eager"), rec.get(mode)
    if eager is None or other is None:
        return None
    if _same(eager, other):
        return None
    eager2 = rec.get("eager2")
    if eager["status"] in ("timeout", "crash") or (eager2 is not None and not _same(eager, eager2)):
        return "eager-only"
    if other["status"] == "timeout":
        return "timeout"
    if other.get("internal") or other.get("status") == "crash":
        return "internal"
    if mode == "dynamo" and ("InternalTorchDynamoError" in (other.get("exc_type") or "")
                             or "torch/_dynamo/" in (other.get("innermost") or "")):
        return "internal"  # Dynamo's own code
    return "wrong"


def _outcome(r: dict | None) -> str:
    if r is None:
        return "-"
    return f"{r['status']}" + (f" {r['exc_type']}" if r.get("exc_type") and r["status"] in ("error",) else "")


def summarize(results: dict, modes: list, args) -> dict:
    rows, diffs, internals = [], [], []
    sites = collections.Counter()
    fallback_reasons = collections.Counter()
    for module, res in results.items():
        recs = res["records"]
        row = {"module": module, "methods": len(recs)}
        for mode in (m for m in modes if m != "strict"):
            classes = collections.Counter(classify(r, mode) for r in recs.values())
            compared = sum(1 for r in recs.values() if "eager" in r and mode in r)
            row[mode] = {"compared": compared, "same": classes[None], "differ": compared - classes[None],
                         "by_class": {k: v for k, v in classes.items() if k}}
        if "strict" in modes:
            strict_classes = collections.Counter(classify(r, "strict") for r in recs.values())
            row["strict"] = {"differ": sum(v for k, v in strict_classes.items() if k),
                             "internal": strict_classes["internal"]}
        strict_internal = 0
        fallback_methods = 0
        for key, r in recs.items():
            escapes = (r.get("strict") or {}).get("escapes") or []
            raised_internal = classify(r, "strict") == "internal"
            if escapes or raised_internal:
                strict_internal += 1
                for e in escapes:
                    sites[(e["site"] or e["innermost"], e["exc"].split(":")[0])] += 1
                if raised_internal and not escapes:
                    sites[(r["strict"].get("site") or r["strict"].get("innermost"), r["strict"].get("exc_type"))] += 1
                internals.append({"module": module, "class": r["cls"], "method": r["method"],
                                  "strict": _slim(r.get("strict")), "escapes": escapes})
            fb = (r.get("snaptrace") or {}).get("internal_breaks") or []
            if fb:
                fallback_methods += 1
                for reason in fb:
                    fallback_reasons[reason[:200]] += 1
            for mode in (m for m in modes if m != "strict"):
                cls = classify(r, mode)
                if cls:
                    diffs.append({"module": module, "class": r["cls"], "method": r["method"], "mode": mode,
                                  "difference": cls, "eager": _slim(r.get("eager")), mode: _slim(r.get(mode)),
                                  "eager_rerun": _slim(r.get("eager2")),
                                  "strict": _slim(r.get("strict")) if mode == "snaptrace" else None})
        row["strict_internal"] = strict_internal
        row["fallback_methods"] = fallback_methods
        row["notes"] = res["notes"]
        rows.append(row)
    return {"rows": rows, "diffs": diffs, "internals": internals,
            "sites": [{"site": s, "exc": e, "methods": n} for (s, e), n in sites.most_common()],
            "fallback_reasons": [{"reason": r, "count": n} for r, n in fallback_reasons.most_common()]}


def _slim(r: dict | None) -> dict | None:
    if r is None:
        return None
    keep = ("status", "exc_type", "message", "innermost", "site", "modelled", "internal", "seconds", "n_breaks",
            "breaks",
            "internal_breaks", "tb", "captures")
    return {k: r[k] for k in keep if k in r}


def print_table(summary: dict, modes: list, out=sys.stdout):
    for mode in (m for m in modes if m != "strict"):
        print(f"\n{mode} vs eager", file=out)
        head = f"| module | methods | same | differ | % same | internal | wrong | timeout | eager-only |"
        if mode == "snaptrace":
            head += " strict: internal failures | default: internal fallbacks |"
        print(head, file=out)
        print("|" + "---|" * (head.count("|") - 1), file=out)
        tot = collections.Counter()
        for row in summary["rows"]:
            s = row[mode]
            bc = s["by_class"]
            cells = [row["module"], s["compared"], s["same"], s["differ"],
                     f"{100.0 * s['same'] / s['compared']:.1f}" if s["compared"] else "-",
                     bc.get("internal", 0), bc.get("wrong", 0), bc.get("timeout", 0), bc.get("eager-only", 0)]
            for k, v in zip(("compared", "same", "differ", "internal", "wrong", "timeout", "eager-only"),
                            (s["compared"], s["same"], s["differ"], bc.get("internal", 0), bc.get("wrong", 0),
                             bc.get("timeout", 0), bc.get("eager-only", 0))):
                tot[k] += v
            if mode == "snaptrace":
                cells += [row.get("strict_internal", 0), row.get("fallback_methods", 0)]
                tot["strict_internal"] += row.get("strict_internal", 0)
                tot["fallback_methods"] += row.get("fallback_methods", 0)
            print("| " + " | ".join(str(c) for c in cells) + " |", file=out)
        cells = ["**total**", tot["compared"], tot["same"], tot["differ"],
                 f"{100.0 * tot['same'] / tot['compared']:.2f}" if tot["compared"] else "-",
                 tot["internal"], tot["wrong"], tot["timeout"], tot["eager-only"]]
        if mode == "snaptrace":
            cells += [tot["strict_internal"], tot["fallback_methods"]]
        print("| " + " | ".join(str(c) for c in cells) + " |", file=out)
    if summary["sites"]:
        print("\nsnaptrace-internal failure sites (strict mode; innermost tracer frame, methods):", file=out)
        for s in summary["sites"][:40]:
            print(f"  {s['methods']:4d}  {s['exc']:<20} {s['site']}", file=out)
    if summary["fallback_reasons"]:
        print("\ninternal-error fallbacks in the default mode (break reasons):", file=out)
        for f in summary["fallback_reasons"][:20]:
            print(f"  {f['count']:4d}  {f['reason']}", file=out)
    notes = [(r["module"], n) for r in summary["rows"] for n in r["notes"]]
    if notes:
        print("\nnotes:", file=out)
        for m, n in notes:
            print(f"  {m}: {n}", file=out)


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--modules", default=",".join(DEFAULT_MODULES),
                   help="comma-separated Lib/test modules (default: the 13 of the issue)")
    p.add_argument("--against", default="snaptrace,strict",
                   help="comma-separated traced modes among snaptrace, strict, dynamo (default snaptrace,strict)")
    p.add_argument("--methods", default=None, help="only methods whose Class.method matches this regex")
    p.add_argument("--method-timeout", type=int, default=60, help="seconds per method run (default 60)")
    p.add_argument("--module-timeout", type=int, default=5400, help="seconds per module (default 5400)")
    p.add_argument("--jobs", type=int, default=1, help="modules run at once (default 1)")
    p.add_argument("--json", default=None, help="write the summary and every differing method here")
    p.add_argument("--workdir", default=None, help="where worker logs go (default: a new temporary directory)")
    p.add_argument("--summarize", action="store_true",
                   help="run nothing: rebuild the table (and --json) from the results already in --workdir")
    # worker mode
    p.add_argument("--worker", default=None, help=argparse.SUPPRESS)
    p.add_argument("--out", default=None, help=argparse.SUPPRESS)
    p.add_argument("--log", default=None, help=argparse.SUPPRESS)
    p.add_argument("--skip", default=None, help=argparse.SUPPRESS)
    p.add_argument("--modes", default="snaptrace,strict", help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    if args.worker:
        return worker(args)

    modes = [m for m in args.against.split(",") if m]
    bad = [m for m in modes if m not in TRACED_MODES]
    if bad:
        p.error(f"unknown mode(s) {bad}; choose among {TRACED_MODES}")
    modules = [m.strip() for m in args.modules.split(",") if m.strip()]
    workdir = args.workdir or tempfile.mkdtemp(prefix="cpython_tests-")
    os.makedirs(workdir, exist_ok=True)
    commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True,
                            text=True).stdout.strip()
    print(f"cpython_tests: {len(modules)} module(s), modes {modes}, commit {commit}, logs in {workdir}",
          flush=True)
    results = {}
    if args.summarize:
        if not args.workdir:
            p.error("--summarize needs --workdir")
        for module in modules:
            path = os.path.join(workdir, f"{module}.jsonl")
            if os.path.exists(path):
                merged = {}
                for line in open(path):
                    e = json.loads(line)
                    if e["event"] == "result":
                        merged.setdefault(e["key"], {"cls": e["cls"], "method": e["method"]})[e["mode"]] = e
                results[module] = {"records": merged, "notes": [], "total": None}
        modules = list(results)

    def one(module):
        t0 = time.monotonic()
        res = run_module(module, args, workdir)
        recs = res["records"]
        parts = []
        for mode in (m for m in modes if m != "strict"):
            same = sum(1 for r in recs.values() if classify(r, mode) is None and mode in r and "eager" in r)
            n = sum(1 for r in recs.values() if mode in r and "eager" in r)
            parts.append(f"{mode} {same}/{n} same")
        if "strict" in modes:
            parts.append(f"strict differs {sum(1 for r in recs.values() if classify(r, 'strict'))}")
        print(f"[{module}] {len(recs)} methods ({res['total']} listed), {', '.join(parts)}, "
              f"{time.monotonic() - t0:.0f}s" + (f"; {'; '.join(res['notes'])}" if res["notes"] else ""),
              flush=True)
        return module, res

    if args.summarize:
        pass
    elif args.jobs > 1:
        from concurrent.futures import ThreadPoolExecutor

        with ThreadPoolExecutor(args.jobs) as pool:
            for module, res in pool.map(one, modules):
                results[module] = res
    else:
        for module in modules:
            module, res = one(module)
            results[module] = res
    summary = summarize(results, modes, args)
    print_table(summary, modes)
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"date": datetime.datetime.now().isoformat(timespec="seconds"), "commit": commit,
                       "python": sys.version.split()[0], "modes": modes, "modules": modules,
                       "method_timeout": args.method_timeout, **summary}, f, indent=1)
        print(f"\nwrote {args.json}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
