/* tests/integration/harness-private.h - what the files of the harness share:
 * bounded socket reads and writes (harness-client.c), used by the raw
 * server's thread too.  Tests include harness.h only.
 */
#pragma once

#include "harness.h"

G_BEGIN_DECLS

/* How often a thread that waits checks whether it should stop. */
#define POLL_SLICE_MS 100
/* The longest request or response head read. */
#define HEAD_MAX (64 * 1024)

typedef enum
{
  READ_OK,
  READ_EOF,
  READ_TIMEOUT,
  READ_TOO_LONG,
  READ_ERROR,
} PorticoReadResult;

static inline gint64
deadline_after (int timeout_ms)
{
  return g_get_monotonic_time () + (gint64) MAX (timeout_ms, 0) * 1000;
}

/* Waits until @fd is readable.  @cancel (optional) is checked every
 * POLL_SLICE_MS so a server thread can be stopped while it waits. */
gboolean portico_harness_wait_readable (int fd, gint64 deadline, const gint *cancel);

/* Reads up to and including @term, never past it. */
PorticoReadResult portico_harness_read_until (int fd, const char *term, gsize max, GString *out,
                                              gint64 deadline, const gint *cancel);

/* Sends all of @data; FALSE (errno set) on error.  Silent:
 * portico_test_send_all() is the one that tells the test why. */
gboolean portico_harness_send_all (int fd, const void *data, gsize len);

G_END_DECLS
