/* The C API (exitleft/exitleft.h) from a C11 program: compiled as C with -std=c11 -pedantic
 * -Werror on every preset (so the header is plain C), linked with the static library and, where
 * the build has one, the shared one.
 *
 * Every wait in this file has a timeout (kBound where the test expects success), so a lost
 * wake-up fails a check instead of hanging; ctest's TIMEOUT bounds the rest. */
#define _POSIX_C_SOURCE 200809L /* clock_gettime, nanosleep under -std=c11 */

#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "exitleft/exitleft.h"

#ifndef EXITLEFT_EXPECTED_VERSION
#error "the build passes EXITLEFT_EXPECTED_VERSION (the project's version)"
#endif

static const int64_t kMs = 1000 * 1000;
static const int64_t kBound = (int64_t)10 * 1000 * 1000 * 1000; /* 10 s: "never" in a test */

static int g_failures = 0;

#define CHECK(cond)                                                            \
  do {                                                                         \
    if (!(cond)) {                                                             \
      fprintf(stderr, "%s:%d: CHECK failed: %s\n", __FILE__, __LINE__, #cond); \
      ++g_failures;                                                            \
    }                                                                          \
  } while (0)

/* A fatal check: a failed thread start or allocation leaves nothing worth testing. */
#define REQUIRE(cond)                                                            \
  do {                                                                           \
    if (!(cond)) {                                                               \
      fprintf(stderr, "%s:%d: REQUIRE failed: %s\n", __FILE__, __LINE__, #cond); \
      exit(1);                                                                   \
    }                                                                            \
  } while (0)

static int64_t now_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (int64_t)ts.tv_sec * 1000 * 1000 * 1000 + ts.tv_nsec;
}

static void sleep_ms(int ms) {
  struct timespec ts;
  ts.tv_sec = ms / 1000;
  ts.tv_nsec = (long)(ms % 1000) * 1000 * 1000;
  nanosleep(&ts, NULL);
}

static void test_library(void) {
  const char* backend = exitleft_backend();
  CHECK(strcmp(exitleft_version(), EXITLEFT_EXPECTED_VERSION) == 0);
  CHECK(strcmp(backend, "linux") == 0 || strcmp(backend, "windows") == 0 ||
        strcmp(backend, "darwin") == 0 || strcmp(backend, "portable") == 0);
  /* NULL handles are no-ops for destroy. */
  exitleft_event_destroy(NULL);
  exitleft_semaphore_destroy(NULL);
  exitleft_countdown_destroy(NULL);
}

static void test_auto_reset_event(void) {
  exitleft_event* e = exitleft_event_create(false, false);
  REQUIRE(e != NULL);
  CHECK(!exitleft_event_is_set(e));
  CHECK(exitleft_event_wait(e, 0) == EXITLEFT_TIMEOUT);
  exitleft_event_set(e);
  exitleft_event_set(e); /* saturates: one signal */
  CHECK(exitleft_event_is_set(e));
  CHECK(exitleft_event_wait(e, 0) == EXITLEFT_OK); /* a poll still takes the signal */
  CHECK(!exitleft_event_is_set(e));
  CHECK(exitleft_event_wait(e, 0) == EXITLEFT_TIMEOUT);
  exitleft_event_set(e);
  CHECK(exitleft_event_wait(e, -5) == EXITLEFT_OK); /* any negative but -1 polls too */
  exitleft_event_set(e);
  exitleft_event_reset(e);
  CHECK(exitleft_event_wait(e, 0) == EXITLEFT_TIMEOUT);
  exitleft_event_pulse(e); /* nobody waits: it only leaves the event unset */
  CHECK(!exitleft_event_is_set(e));
  exitleft_event_destroy(e);

  e = exitleft_event_create(false, true);
  REQUIRE(e != NULL);
  CHECK(exitleft_event_wait(e, EXITLEFT_INFINITE) == EXITLEFT_OK);
  CHECK(exitleft_event_wait(e, 0) == EXITLEFT_TIMEOUT);
  exitleft_event_destroy(e);
}

static void test_manual_reset_event(void) {
  exitleft_event* e = exitleft_event_create(true, false);
  REQUIRE(e != NULL);
  CHECK(exitleft_event_wait(e, 0) == EXITLEFT_TIMEOUT);
  exitleft_event_set(e);
  CHECK(exitleft_event_wait(e, 0) == EXITLEFT_OK);
  CHECK(exitleft_event_wait(e, EXITLEFT_INFINITE) == EXITLEFT_OK); /* observed, not consumed */
  CHECK(exitleft_event_is_set(e));
  exitleft_event_reset(e);
  CHECK(!exitleft_event_is_set(e));
  exitleft_event_set(e);
  exitleft_event_pulse(e);
  CHECK(!exitleft_event_is_set(e));
  exitleft_event_destroy(e);

  e = exitleft_event_create(true, true);
  REQUIRE(e != NULL);
  CHECK(exitleft_event_is_set(e));
  exitleft_event_destroy(e);
}

static void test_timeout_is_honoured(void) {
  exitleft_event* e = exitleft_event_create(false, false);
  exitleft_semaphore* s = exitleft_semaphore_create(0, 1);
  exitleft_countdown* c = exitleft_countdown_create(1);
  const void* objects[3];
  int64_t t0;
  REQUIRE(e != NULL && s != NULL && c != NULL);
  objects[0] = e;
  objects[1] = s;
  objects[2] = c;

  t0 = now_ns();
  CHECK(exitleft_event_wait(e, 30 * kMs) == EXITLEFT_TIMEOUT);
  CHECK(now_ns() - t0 >= 30 * kMs);
  t0 = now_ns();
  CHECK(exitleft_semaphore_acquire(s, 30 * kMs) == EXITLEFT_TIMEOUT);
  CHECK(now_ns() - t0 >= 30 * kMs);
  t0 = now_ns();
  CHECK(exitleft_countdown_wait(c, 30 * kMs) == EXITLEFT_TIMEOUT);
  CHECK(now_ns() - t0 >= 30 * kMs);
  t0 = now_ns();
  CHECK(exitleft_wait_any(objects, 3, 30 * kMs, NULL) == EXITLEFT_TIMEOUT);
  CHECK(now_ns() - t0 >= 30 * kMs);
  t0 = now_ns();
  CHECK(exitleft_wait_all(objects, 3, 30 * kMs) == EXITLEFT_TIMEOUT);
  CHECK(now_ns() - t0 >= 30 * kMs);
  /* A timeout too long for the clock waits forever: here it finds the signal at once. */
  exitleft_event_set(e);
  CHECK(exitleft_event_wait(e, INT64_MAX) == EXITLEFT_OK);

  exitleft_event_destroy(e);
  exitleft_semaphore_destroy(s);
  exitleft_countdown_destroy(c);
}

static void test_semaphore(void) {
  exitleft_semaphore* s;
  CHECK(exitleft_semaphore_create(3, 2) == NULL); /* initial > max */
  s = exitleft_semaphore_create(0, 2);
  REQUIRE(s != NULL);
  CHECK(exitleft_semaphore_count(s) == 0);
  CHECK(exitleft_semaphore_acquire(s, 0) == EXITLEFT_TIMEOUT);
  CHECK(exitleft_semaphore_release(s, 3) == EXITLEFT_EOVERFLOW);
  CHECK(exitleft_semaphore_count(s) == 0); /* nothing changed */
  CHECK(exitleft_semaphore_release(s, 2) == EXITLEFT_OK);
  CHECK(exitleft_semaphore_release(s, 1) == EXITLEFT_EOVERFLOW);
  CHECK(exitleft_semaphore_count(s) == 2);
  CHECK(exitleft_semaphore_acquire(s, 0) == EXITLEFT_OK);
  CHECK(exitleft_semaphore_acquire(s, EXITLEFT_INFINITE) == EXITLEFT_OK);
  CHECK(exitleft_semaphore_acquire(s, 0) == EXITLEFT_TIMEOUT);
  exitleft_semaphore_destroy(s);

  s = exitleft_semaphore_create(UINT32_MAX, UINT32_MAX);
  REQUIRE(s != NULL);
  CHECK(exitleft_semaphore_count(s) == UINT32_MAX);
  CHECK(exitleft_semaphore_release(s, 1) == EXITLEFT_EOVERFLOW);
  exitleft_semaphore_destroy(s);
}

static void test_countdown(void) {
  exitleft_countdown* c = exitleft_countdown_create(2);
  REQUIRE(c != NULL);
  CHECK(exitleft_countdown_count(c) == 2);
  CHECK(exitleft_countdown_wait(c, 0) == EXITLEFT_TIMEOUT);
  CHECK(exitleft_countdown_decrement(c) == 0);
  CHECK(exitleft_countdown_decrement(c) == 1);
  CHECK(exitleft_countdown_decrement(c) == EXITLEFT_EINVAL); /* already 0: nothing changes */
  CHECK(exitleft_countdown_count(c) == 0);
  CHECK(exitleft_countdown_wait(c, 0) == EXITLEFT_OK);
  CHECK(exitleft_countdown_wait(c, EXITLEFT_INFINITE) == EXITLEFT_OK); /* observed */
  exitleft_countdown_increment(c, 3);
  CHECK(exitleft_countdown_count(c) == 3);
  CHECK(exitleft_countdown_wait(c, 0) == EXITLEFT_TIMEOUT);
  exitleft_countdown_reset(c, 0);
  CHECK(exitleft_countdown_wait(c, 0) == EXITLEFT_OK);
  exitleft_countdown_reset(c, 5);
  CHECK(exitleft_countdown_count(c) == 5);
  exitleft_countdown_destroy(c);

  c = exitleft_countdown_create(0);
  REQUIRE(c != NULL);
  CHECK(exitleft_countdown_wait(c, 0) == EXITLEFT_OK);
  exitleft_countdown_destroy(c);
  if (sizeof(size_t) >= 8) CHECK(exitleft_countdown_create(SIZE_MAX) == NULL); /* > 2^62 - 1 */
}

static void test_wait_any(void) {
  exitleft_event* manual = exitleft_event_create(true, false);
  exitleft_event* autos = exitleft_event_create(false, false);
  exitleft_semaphore* s = exitleft_semaphore_create(0, 10);
  exitleft_countdown* c = exitleft_countdown_create(1);
  const void* objects[4];
  size_t index = 99;
  REQUIRE(manual != NULL && autos != NULL && s != NULL && c != NULL);
  objects[0] = manual;
  objects[1] = autos;
  objects[2] = s;
  objects[3] = c;

  CHECK(exitleft_wait_any(objects, 4, 0, &index) == EXITLEFT_TIMEOUT);
  CHECK(index == 99); /* untouched on timeout */

  CHECK(exitleft_semaphore_release(s, 2) == EXITLEFT_OK);
  CHECK(exitleft_wait_any(objects, 4, 0, &index) == EXITLEFT_OK);
  CHECK(index == 2);
  CHECK(exitleft_semaphore_count(s) == 1); /* one unit taken */

  exitleft_event_set(autos); /* the lowest signalled index wins and only it is consumed */
  CHECK(exitleft_wait_any(objects, 4, 0, &index) == EXITLEFT_OK);
  CHECK(index == 1);
  CHECK(!exitleft_event_is_set(autos));
  CHECK(exitleft_semaphore_count(s) == 1);

  CHECK(exitleft_countdown_decrement(c) == 1);
  CHECK(exitleft_semaphore_acquire(s, 0) == EXITLEFT_OK);
  CHECK(exitleft_wait_any(objects, 4, 0, NULL) == EXITLEFT_OK); /* index may be NULL */
  CHECK(exitleft_wait_any(objects, 4, 0, &index) == EXITLEFT_OK);
  CHECK(index == 3); /* the countdown is observed, so it stays signalled */

  exitleft_event_set(manual);
  CHECK(exitleft_wait_any(objects, 4, EXITLEFT_INFINITE, &index) == EXITLEFT_OK);
  CHECK(index == 0);
  CHECK(exitleft_event_is_set(manual));

  /* The same object twice is allowed in a wait-any. */
  objects[1] = manual;
  CHECK(exitleft_wait_any(objects, 2, 0, &index) == EXITLEFT_OK);

  exitleft_event_destroy(manual);
  exitleft_event_destroy(autos);
  exitleft_semaphore_destroy(s);
  exitleft_countdown_destroy(c);
}

static void test_wait_all(void) {
  exitleft_event* autos = exitleft_event_create(false, true);
  exitleft_semaphore* s = exitleft_semaphore_create(0, 10);
  exitleft_countdown* c = exitleft_countdown_create(0);
  const void* objects[3];
  REQUIRE(autos != NULL && s != NULL && c != NULL);
  objects[0] = autos;
  objects[1] = s;
  objects[2] = c;

  /* Not all signalled: times out and consumes nothing. */
  CHECK(exitleft_wait_all(objects, 3, 10 * kMs) == EXITLEFT_TIMEOUT);
  CHECK(exitleft_event_is_set(autos));

  CHECK(exitleft_semaphore_release(s, 1) == EXITLEFT_OK);
  CHECK(exitleft_wait_all(objects, 3, 0) == EXITLEFT_OK); /* all at once: all consumed */
  CHECK(!exitleft_event_is_set(autos));
  CHECK(exitleft_semaphore_count(s) == 0);
  CHECK(exitleft_countdown_count(c) == 0);

  exitleft_event_destroy(autos);
  exitleft_semaphore_destroy(s);
  exitleft_countdown_destroy(c);
}

static void test_invalid_arguments(void) {
  exitleft_event* e = exitleft_event_create(true, true);
  const void* objects[65];
  const char* text = "not a handle";
  struct {
    uint32_t a;
    double b;
  } other = {7, 1.0};
  size_t index = 99;
  size_t i;
  REQUIRE(e != NULL);
  for (i = 0; i < 65; ++i) objects[i] = e;

  CHECK(exitleft_wait_any(NULL, 1, 0, &index) == EXITLEFT_EINVAL);
  CHECK(exitleft_wait_any(objects, 0, 0, &index) == EXITLEFT_EINVAL);
  CHECK(exitleft_wait_any(objects, 65, 0, &index) == EXITLEFT_EINVAL);
  CHECK(exitleft_wait_any(objects, 64, 0, &index) == EXITLEFT_OK); /* 64 is the limit */
  CHECK(index == 0);
  CHECK(exitleft_wait_all(NULL, 1, 0) == EXITLEFT_EINVAL);
  CHECK(exitleft_wait_all(objects, 0, 0) == EXITLEFT_EINVAL);
  CHECK(exitleft_wait_all(objects, 65, 0) == EXITLEFT_EINVAL);
  CHECK(exitleft_wait_all(objects, 2, 0) == EXITLEFT_EINVAL); /* the same object twice */
  CHECK(exitleft_wait_all(objects, 1, 0) == EXITLEFT_OK);

  objects[1] = NULL;
  CHECK(exitleft_wait_any(objects, 2, 0, &index) == EXITLEFT_EINVAL);
  CHECK(exitleft_wait_all(objects, 2, 0) == EXITLEFT_EINVAL);
  /* Pointers to things that are not handles: their kind tag does not match. */
  objects[1] = text;
  CHECK(exitleft_wait_any(objects, 2, 0, &index) == EXITLEFT_EINVAL);
  objects[1] = &other;
  CHECK(exitleft_wait_all(objects, 2, 0) == EXITLEFT_EINVAL);
  CHECK(exitleft_event_is_set(e)); /* nothing consumed or changed by a refused call */
  exitleft_event_destroy(e);
}

/* ---- threads ------------------------------------------------------------------------------ */

enum { kRounds = 2000, kLockThreads = 4, kLockIncrements = 5000 };

struct ping_pong {
  exitleft_event* ping;
  exitleft_event* pong;
  int failures;
};

static void* pong_thread(void* arg) {
  struct ping_pong* p = (struct ping_pong*)arg;
  int i;
  for (i = 0; i < kRounds; ++i) {
    if (exitleft_event_wait(p->ping, kBound) != EXITLEFT_OK) {
      ++p->failures;
      break;
    }
    exitleft_event_set(p->pong);
  }
  return NULL;
}

/* Two threads hand one token back and forth through two auto-reset events. */
static void test_thread_hand_off(void) {
  struct ping_pong p;
  pthread_t t;
  int i;
  p.ping = exitleft_event_create(false, false);
  p.pong = exitleft_event_create(false, false);
  p.failures = 0;
  REQUIRE(p.ping != NULL && p.pong != NULL);
  REQUIRE(pthread_create(&t, NULL, pong_thread, &p) == 0);
  for (i = 0; i < kRounds; ++i) {
    exitleft_event_set(p.ping);
    if (exitleft_event_wait(p.pong, kBound) != EXITLEFT_OK) {
      CHECK(!"pong did not come back within 10 s");
      exitleft_event_set(p.ping); /* let the other thread finish */
      break;
    }
  }
  pthread_join(t, NULL);
  CHECK(p.failures == 0);
  exitleft_event_destroy(p.ping);
  exitleft_event_destroy(p.pong);
}

struct guarded {
  exitleft_semaphore* lock;
  long counter; /* plain: only the semaphore orders the threads' increments */
  int failures;
};

static void* increment_thread(void* arg) {
  struct guarded* g = (struct guarded*)arg;
  int i;
  for (i = 0; i < kLockIncrements; ++i) {
    if (exitleft_semaphore_acquire(g->lock, kBound) != EXITLEFT_OK) {
      ++g->failures; /* written without the lock: TSan would say so; it should never happen */
      return NULL;
    }
    ++g->counter;
    exitleft_semaphore_release(g->lock, 1);
  }
  return NULL;
}

/* A semaphore(1, 1) as a lock around a plain counter: the total is exact, and TSan (the tsan
 * preset builds this file too) sees every increment ordered by release -> acquire. */
static void test_semaphore_guards_plain_counter(void) {
  struct guarded g;
  pthread_t t[kLockThreads];
  int i;
  g.lock = exitleft_semaphore_create(1, 1);
  g.counter = 0;
  g.failures = 0;
  REQUIRE(g.lock != NULL);
  for (i = 0; i < kLockThreads; ++i)
    REQUIRE(pthread_create(&t[i], NULL, increment_thread, &g) == 0);
  for (i = 0; i < kLockThreads; ++i) pthread_join(t[i], NULL);
  CHECK(g.failures == 0);
  CHECK(g.counter == (long)kLockThreads * kLockIncrements);
  exitleft_semaphore_destroy(g.lock);
}

struct multi {
  exitleft_event* manual;
  exitleft_countdown* countdown;
  exitleft_semaphore* done;
  int result;
  int published; /* plain: written before the set and decrement, read after the wait */
};

static void* wait_all_thread(void* arg) {
  struct multi* m = (struct multi*)arg;
  const void* objects[2];
  objects[0] = m->manual;
  objects[1] = m->countdown;
  m->result = exitleft_wait_all(objects, 2, kBound);
  if (m->result == EXITLEFT_OK && m->published != 42) m->result = -1;
  exitleft_semaphore_release(m->done, 1);
  return NULL;
}

/* A thread blocked in wait_all wakes only when both objects are signalled. */
static void test_wait_all_wakes_blocked_thread(void) {
  struct multi m;
  pthread_t t;
  m.manual = exitleft_event_create(true, false);
  m.countdown = exitleft_countdown_create(1);
  m.done = exitleft_semaphore_create(0, 1);
  m.result = 99;
  m.published = 0;
  REQUIRE(m.manual != NULL && m.countdown != NULL && m.done != NULL);
  REQUIRE(pthread_create(&t, NULL, wait_all_thread, &m) == 0);
  sleep_ms(20);
  exitleft_event_set(m.manual);
  CHECK(exitleft_semaphore_acquire(m.done, 50 * kMs) == EXITLEFT_TIMEOUT); /* one of two */
  m.published = 42;
  CHECK(exitleft_countdown_decrement(m.countdown) == 1);
  CHECK(exitleft_semaphore_acquire(m.done, kBound) == EXITLEFT_OK);
  pthread_join(t, NULL);
  CHECK(m.result == EXITLEFT_OK);
  exitleft_event_destroy(m.manual);
  exitleft_countdown_destroy(m.countdown);
  exitleft_semaphore_destroy(m.done);
}

int main(void) {
  test_library();
  test_auto_reset_event();
  test_manual_reset_event();
  test_timeout_is_honoured();
  test_semaphore();
  test_countdown();
  test_wait_any();
  test_wait_all();
  test_invalid_arguments();
  test_thread_hand_off();
  test_semaphore_guards_plain_counter();
  test_wait_all_wakes_blocked_thread();
  if (g_failures != 0) {
    fprintf(stderr, "c_api_test: %d check(s) failed\n", g_failures);
    return 1;
  }
  printf("c_api_test: all checks passed (%s backend, version %s)\n", exitleft_backend(),
         exitleft_version());
  return 0;
}
