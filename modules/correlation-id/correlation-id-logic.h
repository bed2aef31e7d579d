/* correlation-id-logic.h: the id generators, without the PDK.
 *
 * Each worker owns a generator (a fast PRNG, its own uuid and a counter).
 * It must be seeded after the fork: a generator seeded in the master would
 * hand every worker the same sequence.
 */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

/* Room for any id made here, NUL included: "uuid#counter" is 36 + 1 + 20;
 * "tracker" is an address (at most 45), four numbers and a time. */
#define CORRELATION_ID_MAX 128

typedef enum {
  CORRELATION_ID_UUID,
  CORRELATION_ID_UUID_COUNTER,
  CORRELATION_ID_TRACKER,
} CorrelationIdGenerator;

typedef struct {
  guint64 s[2];              /* xorshift128+ state, never all zero */
  char worker_uuid[37];      /* uuid#counter: made when seeded */
  guint64 counter;           /* uuid#counter: the last one used */
  guint pid;                 /* the process that seeded it */
  gboolean seeded;
} CorrelationIdState;

/* The facts "tracker" is made of (see correlation-id.c for why these). */
typedef struct {
  const char *client_ip;
  guint server_port;
  guint pid;
  guint client_port;
  guint64 request_id;
  gint64 now_us; /* wall clock */
} CorrelationIdTracker;

/* "uuid", "uuid#counter", "tracker"; FALSE for anything else. */
gboolean correlation_id_generator_from_string (const char *name, CorrelationIdGenerator *out);

/* Seeds from the kernel's random source mixed with the pid and the time,
 * makes the worker's uuid, resets the counter and notes the pid. */
void correlation_id_state_seed (CorrelationIdState *state);
/* Seeds from @seed only (tests that need a known sequence). */
void correlation_id_state_seed_with (CorrelationIdState *state, guint64 seed);

/* A random version-4 uuid, lowercase: 36 characters and a NUL. */
void correlation_id_uuid (CorrelationIdState *state, char out[37]);

/* Writes the next id of @generator into @out (CORRELATION_ID_MAX bytes);
 * @tracker is read only by CORRELATION_ID_TRACKER. Seeds @state first if
 * it has not been. Returns the id's length. */
gsize correlation_id_next (CorrelationIdState *state, CorrelationIdGenerator generator,
                           const CorrelationIdTracker *tracker, char out[CORRELATION_ID_MAX]);

G_END_DECLS
