/*
 * CPython 3.11's current GIL (Python/ceval_gil.h: take_gil, drop_gil with FORCE_SWITCHING) on
 * glibc's pthread mutex and condition variable, without Python and without any recording: two
 * CPU-bound threads and one "I/O" thread that sleeps 1 ms between takes, as gilscope's
 * gil-flavours lesson. Prints how often the I/O thread got the GIL (docs/fidelity.md).
 *
 * Build and run:
 *   cc -O2 -pthread -o /tmp/gil_model docs/calibration/gil_model.c
 *   /tmp/gil_model [ITERATIONS [DELAY_NS]]
 *
 * DELAY_NS (default 0) makes a holder asked to drop wait that long before it does. On the
 * project's 2-core machine, 2026-12-04, 20 runs: no delay, 58-162 I/O wake-ups a second, most
 * under 130 (CPython 3.11 itself: 60-116); 5,000 ns or more, 179-192 (the emulation before
 * the fix: 175-180).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

static pthread_mutex_t mutex = PTHREAD_MUTEX_INITIALIZER;
static pthread_mutex_t switch_mutex = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t cond, switch_cond;
static atomic_int locked, drop_request, done;
static unsigned long switch_number; /* under `mutex` */
static _Atomic(void *) last_holder;
static const long interval_us = 5000; /* sys.getswitchinterval() */
static long delay_ns;

static double now(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec + t.tv_nsec * 1e-9;
}

static void drop_gil(void *me) {
    if (delay_ns && atomic_load(&drop_request)) {
        double until = now() + delay_ns * 1e-9;
        while (now() < until) {
        }
    }
    atomic_store(&last_holder, me);
    pthread_mutex_lock(&mutex);
    atomic_store(&locked, 0);
    pthread_cond_signal(&cond);
    pthread_mutex_unlock(&mutex);
    if (atomic_load(&drop_request)) { /* FORCE_SWITCHING */
        pthread_mutex_lock(&switch_mutex);
        if (atomic_load(&last_holder) == me) {
            atomic_store(&drop_request, 0);
            pthread_cond_wait(&switch_cond, &switch_mutex);
        }
        pthread_mutex_unlock(&switch_mutex);
    }
}

static void take_gil(void *me) {
    pthread_mutex_lock(&mutex);
    while (atomic_load(&locked)) {
        unsigned long saved = switch_number;
        struct timespec deadline;
        clock_gettime(CLOCK_MONOTONIC, &deadline);
        long ns = deadline.tv_nsec + interval_us * 1000;
        deadline.tv_sec += ns / 1000000000;
        deadline.tv_nsec = ns % 1000000000;
        int rc = pthread_cond_timedwait(&cond, &mutex, &deadline);
        if (rc == ETIMEDOUT && atomic_load(&locked) && switch_number == saved)
            atomic_store(&drop_request, 1);
    }
    pthread_mutex_lock(&switch_mutex);
    atomic_store(&locked, 1);
    if (atomic_load(&last_holder) != me) {
        atomic_store(&last_holder, me);
        switch_number++;
    }
    pthread_cond_signal(&switch_cond);
    pthread_mutex_unlock(&switch_mutex);
    atomic_store(&drop_request, 0);
    pthread_mutex_unlock(&mutex);
}

static long iterations;

static void *cpu(void *me) {
    take_gil(me);
    for (long i = 0; i < iterations; i++) {
        if (atomic_load_explicit(&drop_request, memory_order_relaxed)) { /* the eval breaker */
            drop_gil(me);
            take_gil(me);
        }
        __asm__ volatile("" ::: "memory");
    }
    drop_gil(me);
    return NULL;
}

static int wakeups;

static void *io(void *me) {
    take_gil(me);
    while (!atomic_load(&done)) {
        drop_gil(me);
        struct timespec ms = {0, 1000000};
        nanosleep(&ms, NULL);
        take_gil(me);
        wakeups++;
    }
    drop_gil(me);
    return NULL;
}

int main(int argc, char **argv) {
    iterations = argc > 1 ? atol(argv[1]) : 600000000;
    delay_ns = argc > 2 ? atol(argv[2]) : 0;
    pthread_condattr_t attr;
    pthread_condattr_init(&attr);
    pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
    pthread_cond_init(&cond, &attr);
    pthread_cond_init(&switch_cond, &attr);
    char a = 'A', b = 'B', i = 'i';
    pthread_t ta, tb, ti;
    double start = now();
    pthread_create(&ti, NULL, io, &i);
    pthread_create(&ta, NULL, cpu, &a);
    pthread_create(&tb, NULL, cpu, &b);
    pthread_join(ta, NULL);
    pthread_join(tb, NULL);
    double wall = now() - start;
    atomic_store(&done, 1);
    pthread_join(ti, NULL);
    printf("%.3f s, the I/O thread got the GIL %d times: %.0f a second\n", wall, wakeups,
           wakeups / wall);
    return 0;
}
