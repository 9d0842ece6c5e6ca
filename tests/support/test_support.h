/* test_support.h — small helpers shared by the cmocka tests (linked into each). */
#ifndef SEQLIFT_TEST_SUPPORT_H
#define SEQLIFT_TEST_SUPPORT_H

#include <stdint.h>

/* Standard normal deviate from a splitmix64 stream (Box–Muller). */
double sl_test_gauss(uint64_t *state);

/* A scratch path "$SEQLIFT_TMP/<prefix>.<pid>.<name>" (default dir build/test_tmp,
 * created). Returned from a ring of 4 static buffers: copy it to keep it longer. */
char *sl_test_tmp_path(const char *prefix, const char *name);

/* sl_test_tmp_path(prefix, name) made a FIFO (anything there before is removed);
 * the same ring buffer. Fails the test if mkfifo fails. */
char *sl_test_fifo(const char *prefix, const char *name);

#endif
