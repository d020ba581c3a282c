"""The C API through Python's ctypes, as a foreign-function user would load it.

Standard library only (unittest, ctypes, threading). The library to load is named by the
EXITLEFT_LIBRARY environment variable (ctest passes the built libexitleft.so) or the first
argument; EXITLEFT_EXPECTED_VERSION, if set, is the version it must report.

    EXITLEFT_LIBRARY=build/dev/libexitleft.so python3 tests/c_api/c_api_test.py -v

Every blocking call has a timeout, so a lost wake-up fails a test instead of hanging it.
"""

import ctypes
import os
import sys
import threading
import time
import unittest

OK, TIMEOUT, EINVAL, ENOMEM, EOVERFLOW = 0, 1, -22, -12, -75
INFINITE = -1
MS = 1_000_000
BOUND = 10_000 * MS  # 10 s: "never" in a test


def load(path):
    """Loads the library and declares every function of exitleft.h."""
    lib = ctypes.CDLL(path)
    p, i64, u32, size, b = ctypes.c_void_p, ctypes.c_int64, ctypes.c_uint32, ctypes.c_size_t, ctypes.c_bool
    signatures = {
        "exitleft_event_create": (p, [b, b]),
        "exitleft_event_destroy": (None, [p]),
        "exitleft_event_set": (None, [p]),
        "exitleft_event_reset": (None, [p]),
        "exitleft_event_pulse": (None, [p]),
        "exitleft_event_wait": (ctypes.c_int, [p, i64]),
        "exitleft_event_is_set": (b, [p]),
        "exitleft_semaphore_create": (p, [u32, u32]),
        "exitleft_semaphore_destroy": (None, [p]),
        "exitleft_semaphore_release": (ctypes.c_int, [p, u32]),
        "exitleft_semaphore_acquire": (ctypes.c_int, [p, i64]),
        "exitleft_semaphore_count": (u32, [p]),
        "exitleft_countdown_create": (p, [size]),
        "exitleft_countdown_destroy": (None, [p]),
        "exitleft_countdown_decrement": (ctypes.c_int, [p]),
        "exitleft_countdown_increment": (None, [p, size]),
        "exitleft_countdown_reset": (None, [p, size]),
        "exitleft_countdown_wait": (ctypes.c_int, [p, i64]),
        "exitleft_countdown_count": (size, [p]),
        "exitleft_wait_any": (ctypes.c_int, [ctypes.POINTER(p), size, i64, ctypes.POINTER(size)]),
        "exitleft_wait_all": (ctypes.c_int, [ctypes.POINTER(p), size, i64]),
        "exitleft_version": (ctypes.c_char_p, []),
        "exitleft_backend": (ctypes.c_char_p, []),
    }
    for name, (restype, argtypes) in signatures.items():
        f = getattr(lib, name)
        f.restype, f.argtypes = restype, argtypes
    return lib


LIBRARY = os.environ.get("EXITLEFT_LIBRARY") or (sys.argv.pop(1) if len(sys.argv) > 1 else None)
lib = load(LIBRARY) if LIBRARY else None


def handles(*objects):
    """A C array `const void* const objects[]`."""
    return (ctypes.c_void_p * len(objects))(*objects)


class Case(unittest.TestCase):
    """Frees the handles a test made, whatever happens in it."""

    def setUp(self):
        if lib is None:
            self.fail("set EXITLEFT_LIBRARY to the built libexitleft.so")
        self.cleanups = []

    def tearDown(self):
        for destroy, handle in reversed(self.cleanups):
            destroy(handle)

    def make(self, create, destroy, *args):
        handle = create(*args)
        self.assertTrue(handle, f"{create.__name__}{args} returned NULL")
        self.cleanups.append((destroy, handle))
        return handle

    def event(self, manual, initially_set=False):
        return self.make(lib.exitleft_event_create, lib.exitleft_event_destroy, manual, initially_set)

    def semaphore(self, initial, maximum):
        return self.make(lib.exitleft_semaphore_create, lib.exitleft_semaphore_destroy, initial, maximum)

    def countdown(self, initial):
        return self.make(lib.exitleft_countdown_create, lib.exitleft_countdown_destroy, initial)

    def start(self, target):
        t = threading.Thread(target=target, daemon=True)
        t.start()
        self.addCleanup(t.join, 15)
        return t


class Library(Case):
    def test_version_and_backend(self):
        expected = os.environ.get("EXITLEFT_EXPECTED_VERSION")
        version = lib.exitleft_version().decode()
        if expected:
            self.assertEqual(version, expected)
        self.assertRegex(version, r"^\d+\.\d+\.\d+$")
        self.assertIn(lib.exitleft_backend().decode(), {"linux", "windows", "darwin", "portable"})


class HandOff(Case):
    def test_auto_reset_event_signal_goes_to_one_wait(self):
        e = self.event(manual=False)
        self.assertEqual(lib.exitleft_event_wait(e, 0), TIMEOUT)
        lib.exitleft_event_set(e)
        self.assertTrue(lib.exitleft_event_is_set(e))
        self.assertEqual(lib.exitleft_event_wait(e, 0), OK)
        self.assertEqual(lib.exitleft_event_wait(e, 0), TIMEOUT)

    def test_manual_reset_event_stays_set_until_reset(self):
        e = self.event(manual=True)
        lib.exitleft_event_set(e)
        self.assertEqual(lib.exitleft_event_wait(e, 0), OK)
        self.assertEqual(lib.exitleft_event_wait(e, INFINITE), OK)
        lib.exitleft_event_reset(e)
        self.assertEqual(lib.exitleft_event_wait(e, 0), TIMEOUT)

    def test_semaphore_units_and_overflow(self):
        s = self.semaphore(0, 2)
        self.assertFalse(lib.exitleft_semaphore_create(3, 2))  # initial > max: NULL
        self.assertEqual(lib.exitleft_semaphore_release(s, 3), EOVERFLOW)
        self.assertEqual(lib.exitleft_semaphore_count(s), 0)
        self.assertEqual(lib.exitleft_semaphore_release(s, 2), OK)
        self.assertEqual(lib.exitleft_semaphore_acquire(s, 0), OK)
        self.assertEqual(lib.exitleft_semaphore_acquire(s, 0), OK)
        self.assertEqual(lib.exitleft_semaphore_acquire(s, 0), TIMEOUT)

    def test_countdown_reaches_zero_once(self):
        c = self.countdown(2)
        self.assertEqual(lib.exitleft_countdown_decrement(c), 0)
        self.assertEqual(lib.exitleft_countdown_decrement(c), 1)
        self.assertEqual(lib.exitleft_countdown_decrement(c), EINVAL)
        self.assertEqual(lib.exitleft_countdown_wait(c, 0), OK)
        lib.exitleft_countdown_increment(c, 1)
        self.assertEqual(lib.exitleft_countdown_count(c), 1)
        self.assertEqual(lib.exitleft_countdown_wait(c, 0), TIMEOUT)


class Timeouts(Case):
    def test_each_wait_times_out_no_earlier_than_asked(self):
        e, s, c = self.event(manual=False), self.semaphore(0, 1), self.countdown(1)
        objects = handles(e, s, c)
        index = ctypes.c_size_t(99)
        waits = [
            lambda: lib.exitleft_event_wait(e, 30 * MS),
            lambda: lib.exitleft_semaphore_acquire(s, 30 * MS),
            lambda: lib.exitleft_countdown_wait(c, 30 * MS),
            lambda: lib.exitleft_wait_any(objects, 3, 30 * MS, ctypes.byref(index)),
            lambda: lib.exitleft_wait_all(objects, 3, 30 * MS),
        ]
        for wait in waits:
            t0 = time.monotonic_ns()
            self.assertEqual(wait(), TIMEOUT)
            self.assertGreaterEqual(time.monotonic_ns() - t0, 30 * MS)
        self.assertEqual(index.value, 99)

    def test_zero_timeout_still_takes_a_pending_signal(self):
        e = self.event(manual=False, initially_set=True)
        self.assertEqual(lib.exitleft_event_wait(e, 0), OK)


class MultiWait(Case):
    def test_wait_any_consumes_the_lowest_signalled_only(self):
        autos, s, c = self.event(manual=False), self.semaphore(0, 5), self.countdown(1)
        objects = handles(autos, s, c)
        index = ctypes.c_size_t(99)
        self.assertEqual(lib.exitleft_wait_any(objects, 3, 0, ctypes.byref(index)), TIMEOUT)
        lib.exitleft_semaphore_release(s, 1)
        lib.exitleft_event_set(autos)
        self.assertEqual(lib.exitleft_wait_any(objects, 3, 0, ctypes.byref(index)), OK)
        self.assertEqual(index.value, 0)
        self.assertEqual(lib.exitleft_semaphore_count(s), 1)  # untouched
        self.assertEqual(lib.exitleft_wait_any(objects, 3, 0, ctypes.byref(index)), OK)
        self.assertEqual(index.value, 1)
        self.assertEqual(lib.exitleft_semaphore_count(s), 0)

    def test_wait_all_is_all_or_nothing(self):
        autos, s = self.event(manual=False, initially_set=True), self.semaphore(0, 5)
        objects = handles(autos, s)
        self.assertEqual(lib.exitleft_wait_all(objects, 2, 10 * MS), TIMEOUT)
        self.assertTrue(lib.exitleft_event_is_set(autos))  # nothing consumed
        lib.exitleft_semaphore_release(s, 1)
        self.assertEqual(lib.exitleft_wait_all(objects, 2, 0), OK)
        self.assertFalse(lib.exitleft_event_is_set(autos))
        self.assertEqual(lib.exitleft_semaphore_count(s), 0)

    def test_invalid_arguments(self):
        e = self.event(manual=True, initially_set=True)
        not_a_handle = ctypes.create_string_buffer(b"not a handle")
        index = ctypes.c_size_t()
        self.assertEqual(lib.exitleft_wait_any(handles(e), 0, 0, ctypes.byref(index)), EINVAL)
        self.assertEqual(lib.exitleft_wait_any(handles(*[e] * 65), 65, 0, ctypes.byref(index)), EINVAL)
        self.assertEqual(lib.exitleft_wait_any(handles(e, None), 2, 0, ctypes.byref(index)), EINVAL)
        self.assertEqual(
            lib.exitleft_wait_any(handles(e, ctypes.addressof(not_a_handle)), 2, 0, ctypes.byref(index)),
            EINVAL)
        self.assertEqual(lib.exitleft_wait_all(handles(e, e), 2, 0), EINVAL)
        self.assertEqual(lib.exitleft_wait_all(None, 1, 0), EINVAL)


class Threads(Case):
    def test_thread_hand_off(self):
        """Two threads pass a token back and forth; ctypes releases the GIL in each wait."""
        ping, pong = self.event(manual=False), self.event(manual=False)
        rounds, results = 500, []

        def other():
            for _ in range(rounds):
                r = lib.exitleft_event_wait(ping, BOUND)
                results.append(r)
                if r != OK:
                    return
                lib.exitleft_event_set(pong)

        self.start(other)
        for _ in range(rounds):
            lib.exitleft_event_set(ping)
            self.assertEqual(lib.exitleft_event_wait(pong, BOUND), OK)
        self.assertEqual(results, [OK] * rounds)

    def test_blocked_wait_all_wakes_when_the_last_object_is_signalled(self):
        manual, c, done = self.event(manual=True), self.countdown(1), self.semaphore(0, 1)
        result = []

        def waiter():
            result.append(lib.exitleft_wait_all(handles(manual, c), 2, BOUND))
            lib.exitleft_semaphore_release(done, 1)

        self.start(waiter)
        time.sleep(0.02)
        lib.exitleft_event_set(manual)
        self.assertEqual(lib.exitleft_semaphore_acquire(done, 50 * MS), TIMEOUT)
        self.assertEqual(lib.exitleft_countdown_decrement(c), 1)
        self.assertEqual(lib.exitleft_semaphore_acquire(done, BOUND), OK)
        self.assertEqual(result, [OK])


if __name__ == "__main__":
    unittest.main()
