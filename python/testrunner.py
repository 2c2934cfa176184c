"""The one runner of the Python test scripts: runs each test, prints `ok    NAME` (with `(N gradient elements)` when
the test returns a count) or `FAIL  NAME` with a short traceback, then `TITLE: N passed, M failed`, and exits 1 when
one failed. A test is a function (named by its name) or a pair (name, function).

    from testrunner import run_tests
    run_tests("jax bridge", [test_a, test_b, ("a case", lambda: check(case))])
"""
import sys
import traceback


def run_tests(title, tests, limit=4):
    passed = failed = 0
    for t in tests:
        name, fn = t if isinstance(t, tuple) else (t.__name__, t)
        try:
            n = fn()
            passed += 1
            print("ok    " + name + (" (%d gradient elements)" % n if isinstance(n, int) else ""))
        except Exception:  # noqa: BLE001 - a test's failure of any kind is reported, and the others still run
            failed += 1
            print("FAIL  " + name)
            traceback.print_exc(limit=limit)
    print("%s: %d passed, %d failed" % (title, passed, failed))
    sys.exit(1 if failed else 0)
