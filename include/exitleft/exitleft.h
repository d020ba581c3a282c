/**
 * @file
 * The C API: events, semaphores and countdown events for C programs and foreign-function
 * interfaces (Python ctypes, Rust, Go). Plain C11, also valid C++; in the same libexitleft.so /
 * libexitleft.a as the C++ classes.
 *
 * What it guarantees:
 * - Each handle is one of the C++ objects (exitleft_event: AutoResetEvent or ManualResetEvent;
 *   exitleft_semaphore: Semaphore; exitleft_countdown: CountdownEvent) with the same semantics
 *   (docs/guarantees.md, E1-E6), on the heap. Handles are neither copyable nor movable (use the
 *   pointer); destroying one that a thread waits on is a precondition violation.
 * - Timeouts are nanoseconds measured on the monotonic clock. EXITLEFT_INFINITE (-1) waits
 *   forever; 0 never blocks but still takes a pending signal (a poll); any other negative value
 *   is a poll as well; a timeout too long for the clock waits forever. Waits return
 *   EXITLEFT_OK or EXITLEFT_TIMEOUT; a timeout never undoes a set or loses a released unit.
 * - exitleft_wait_any / exitleft_wait_all take any mix of the three handle types, with the rules
 *   of Win32's WaitForMultipleObjects (wait.hpp): wait_any consumes only the lowest signalled
 *   object and stores its index; wait_all consumes every object in one step, or nothing.
 * - Every handle starts with a tag naming its kind, so that a pointer to something else in a
 *   multi-wait (another struct, a string) gives EXITLEFT_EINVAL rather than undefined behaviour
 *   whenever its first four bytes are readable and differ from the tags; a freed or wild pointer
 *   cannot be detected.
 * - No function throws or unwinds. The _create functions allocate (NULL when out of memory);
 *   otherwise, as in C++, the only allocations are the parking lot's table growing with the number
 *   of threads that wait (out of memory there ends the process, as in parking_lot) and the first
 *   multi-wait of the process (EXITLEFT_ENOMEM if that fails).
 * - Memory ordering as in C++: whatever a thread did before a set / release / the decrement
 *   that reaches 0 happens before the return of the wait that observed or consumed it.
 *
 * @code
 *   exitleft_event* ready = exitleft_event_create(false, false);  // auto-reset, unset
 *   // producer:  exitleft_event_set(ready);
 *   if (exitleft_event_wait(ready, 500 * 1000 * 1000) == EXITLEFT_TIMEOUT) { ... }
 *   exitleft_event_destroy(ready);
 * @endcode
 */
#ifndef EXITLEFT_EXITLEFT_H
#define EXITLEFT_EXITLEFT_H

#include <stddef.h>
#include <stdint.h>
#ifndef __cplusplus
#include <stdbool.h>
#endif

#include "exitleft/export.hpp" /* EXITLEFT_EXPORT: preprocessor only, valid in C */

#ifdef __cplusplus
extern "C" {
#endif

/** Results. The negative values are the matching Linux errno values, negated. */
enum {
  EXITLEFT_OK = 0,         /**< done: the wait was satisfied, the call succeeded */
  EXITLEFT_TIMEOUT = 1,    /**< the timeout expired first; nothing was consumed */
  EXITLEFT_EINVAL = -22,   /**< an invalid argument; nothing changed */
  EXITLEFT_ENOMEM = -12,   /**< out of memory; nothing changed */
  EXITLEFT_EOVERFLOW = -75 /**< a semaphore release would pass its maximum; nothing changed */
};

/** A timeout that never expires. */
#define EXITLEFT_INFINITE ((int64_t)-1)

/** An AutoResetEvent or a ManualResetEvent. */
typedef struct exitleft_event exitleft_event;
/** A Semaphore: a count of units with a maximum. */
typedef struct exitleft_semaphore exitleft_semaphore;
/** A CountdownEvent: a reusable latch, signalled while its count is 0. */
typedef struct exitleft_countdown exitleft_countdown;

/* ---- events ---------------------------------------------------------------------------- */

/** A manual-reset (true) or auto-reset (false) event. @return NULL if out of memory. */
EXITLEFT_EXPORT exitleft_event* exitleft_event_create(bool manual_reset, bool initially_set);
/** Frees the event. NULL is a no-op. No thread may be waiting on it. */
EXITLEFT_EXPORT void exitleft_event_destroy(exitleft_event* event);
/** Sets the event. Auto-reset: hands the signal to the first waiter, or keeps it (once) for the
 *  next one. Manual-reset: wakes every waiter; stays set until exitleft_event_reset(). */
EXITLEFT_EXPORT void exitleft_event_set(exitleft_event* event);
/** Unsets the event; wakes nobody. */
EXITLEFT_EXPORT void exitleft_event_reset(exitleft_event* event);
/** Wakes the threads waiting right now (auto-reset: one, manual-reset: all) and leaves the
 *  event unset. */
EXITLEFT_EXPORT void exitleft_event_pulse(exitleft_event* event);
/** Waits until the event is set; an auto-reset event's signal is consumed.
 *  @return EXITLEFT_OK or EXITLEFT_TIMEOUT. */
EXITLEFT_EXPORT int exitleft_event_wait(exitleft_event* event, int64_t timeout_ns);
/** A snapshot: is the event set right now? Consumes nothing. */
EXITLEFT_EXPORT bool exitleft_event_is_set(const exitleft_event* event);

/* ---- semaphores ------------------------------------------------------------------------ */

/** A semaphore holding `initial` units, at most `max`.
 *  @return NULL if initial > max, or out of memory. */
EXITLEFT_EXPORT exitleft_semaphore* exitleft_semaphore_create(uint32_t initial, uint32_t max);
/** Frees the semaphore. NULL is a no-op. No thread may be waiting on it. */
EXITLEFT_EXPORT void exitleft_semaphore_destroy(exitleft_semaphore* semaphore);
/** Adds `n` units, waking up to `n` waiters.
 *  @return EXITLEFT_OK, or EXITLEFT_EOVERFLOW (and nothing changed) if the count would pass
 *  the maximum. */
EXITLEFT_EXPORT int exitleft_semaphore_release(exitleft_semaphore* semaphore, uint32_t n);
/** Takes one unit, waiting while there is none. @return EXITLEFT_OK or EXITLEFT_TIMEOUT. */
EXITLEFT_EXPORT int exitleft_semaphore_acquire(exitleft_semaphore* semaphore, int64_t timeout_ns);
/** A snapshot of the count. */
EXITLEFT_EXPORT uint32_t exitleft_semaphore_count(const exitleft_semaphore* semaphore);

/* ---- countdown events ------------------------------------------------------------------ */

/** A latch at `initial` (0: signalled).
 *  @return NULL if initial is above the largest count (2^62 - 1), or out of memory. */
EXITLEFT_EXPORT exitleft_countdown* exitleft_countdown_create(size_t initial);
/** Frees the countdown. NULL is a no-op. No thread may be waiting on it. */
EXITLEFT_EXPORT void exitleft_countdown_destroy(exitleft_countdown* countdown);
/** Lowers the count by one. @return 1 if this call reached 0 (every waiter wakes), 0 if not yet,
 *  EXITLEFT_EINVAL (and nothing changed) if the count was already 0. */
EXITLEFT_EXPORT int exitleft_countdown_decrement(exitleft_countdown* countdown);
/** Raises the count by `n`; from 0 the latch is unset again. A count above 2^62 - 1 is a
 *  precondition violation: the process aborts with a message. */
EXITLEFT_EXPORT void exitleft_countdown_increment(exitleft_countdown* countdown, size_t n);
/** Sets the count: 0 releases every waiter, more unsets. Above 2^62 - 1: as increment. */
EXITLEFT_EXPORT void exitleft_countdown_reset(exitleft_countdown* countdown, size_t count);
/** Waits until the count is 0 (observes it). @return EXITLEFT_OK or EXITLEFT_TIMEOUT. */
EXITLEFT_EXPORT int exitleft_countdown_wait(exitleft_countdown* countdown, int64_t timeout_ns);
/** A snapshot of the count. */
EXITLEFT_EXPORT size_t exitleft_countdown_count(const exitleft_countdown* countdown);

/* ---- several objects at once ----------------------------------------------------------- */

/** Waits until one of `objects` (any mix of event, semaphore and countdown handles) is
 *  signalled, and consumes only the lowest-indexed signalled one (an auto-reset event's signal,
 *  one semaphore unit; manual-reset events and countdowns are observed).
 *  On EXITLEFT_OK that index is stored in `*index` (`index` may be NULL).
 *  @return EXITLEFT_OK, EXITLEFT_TIMEOUT, EXITLEFT_EINVAL (objects NULL, n == 0, n > 64, a NULL
 *  entry, an entry that is not a handle), EXITLEFT_ENOMEM. */
EXITLEFT_EXPORT int exitleft_wait_any(const void* const objects[], size_t n, int64_t timeout_ns,
                                      size_t* index);
/** Waits until all of `objects` are signalled at once, then consumes them all in one step
 *  (nothing is consumed on timeout).
 *  @return EXITLEFT_OK, EXITLEFT_TIMEOUT, EXITLEFT_EINVAL (as wait_any, and the same object
 *  twice), EXITLEFT_ENOMEM. */
EXITLEFT_EXPORT int exitleft_wait_all(const void* const objects[], size_t n, int64_t timeout_ns);

/* ---- the library ----------------------------------------------------------------------- */

/** The library's version, "major.minor.patch" (this header belongs to "0.2.0"). */
EXITLEFT_EXPORT const char* exitleft_version(void);
/** The wait-on-address backend compiled in: "linux", "windows", "darwin" or "portable". */
EXITLEFT_EXPORT const char* exitleft_backend(void);

#ifdef __cplusplus
} /* extern "C" */
#endif

#endif /* EXITLEFT_EXITLEFT_H */
