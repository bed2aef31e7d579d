/* correlation-id-logic.c: see correlation-id-logic.h. */
#include "correlation-id-logic.h"

#include <string.h>
#include <sys/random.h>
#include <unistd.h>

gboolean
correlation_id_generator_from_string (const char *name, CorrelationIdGenerator *out)
{
  static const struct {
    const char *name;
    CorrelationIdGenerator generator;
  } names[] = {
    { "uuid", CORRELATION_ID_UUID },
    { "uuid#counter", CORRELATION_ID_UUID_COUNTER },
    { "tracker", CORRELATION_ID_TRACKER },
  };
  for (guint i = 0; i < G_N_ELEMENTS (names); i++)
    if (g_strcmp0 (name, names[i].name) == 0)
      {
        *out = names[i].generator;
        return TRUE;
      }
  return FALSE;
}

/* splitmix64: spreads any seed, even 0, over both words of the state. */
static guint64
splitmix64 (guint64 *x)
{
  guint64 z = (*x += G_GUINT64_CONSTANT (0x9e3779b97f4a7c15));
  z = (z ^ (z >> 30)) * G_GUINT64_CONSTANT (0xbf58476d1ce4e5b9);
  z = (z ^ (z >> 27)) * G_GUINT64_CONSTANT (0x94d049bb133111eb);
  return z ^ (z >> 31);
}

static guint64
xorshift128plus (CorrelationIdState *state)
{
  guint64 s1 = state->s[0];
  const guint64 s0 = state->s[1];
  state->s[0] = s0;
  s1 ^= s1 << 23;
  state->s[1] = s1 ^ s0 ^ (s1 >> 17) ^ (s0 >> 26);
  return state->s[1] + s0;
}

void
correlation_id_state_seed_with (CorrelationIdState *state, guint64 seed)
{
  state->s[0] = splitmix64 (&seed);
  state->s[1] = splitmix64 (&seed);
  if (state->s[0] == 0 && state->s[1] == 0)
    state->s[1] = 1;
  state->seeded = TRUE;
  state->pid = (guint) getpid ();
  correlation_id_uuid (state, state->worker_uuid);
  state->counter = 0;
}

void
correlation_id_state_seed (CorrelationIdState *state)
{
  guint64 seed = 0;
  /* Without the kernel's bytes the pid and the clock still tell workers
   * (and generations) apart. */
  if (getrandom (&seed, sizeof seed, GRND_NONBLOCK) != (ssize_t) sizeof seed)
    seed = 0;
  seed ^= ((guint64) getpid () << 32) ^ (guint64) g_get_real_time () ^ (guint64) g_get_monotonic_time ();
  correlation_id_state_seed_with (state, seed);
}

void
correlation_id_uuid (CorrelationIdState *state, char out[37])
{
  static const char hex[] = "0123456789abcdef";
  guint8 b[16];
  guint64 w0 = xorshift128plus (state), w1 = xorshift128plus (state);
  for (int i = 0; i < 8; i++)
    {
      b[i] = (guint8) (w0 >> (56 - 8 * i));
      b[8 + i] = (guint8) (w1 >> (56 - 8 * i));
    }
  b[6] = (b[6] & 0x0f) | 0x40; /* version 4 */
  b[8] = (b[8] & 0x3f) | 0x80; /* variant 10xx (RFC 9562) */

  char *p = out;
  for (int i = 0; i < 16; i++)
    {
      if (i == 4 || i == 6 || i == 8 || i == 10)
        *p++ = '-';
      *p++ = hex[b[i] >> 4];
      *p++ = hex[b[i] & 0xf];
    }
  *p = '\0';
}

gsize
correlation_id_next (CorrelationIdState *state, CorrelationIdGenerator generator,
                     const CorrelationIdTracker *tracker, char out[CORRELATION_ID_MAX])
{
  if (!state->seeded)
    correlation_id_state_seed (state);

  int n;
  switch (generator)
    {
    case CORRELATION_ID_UUID:
      correlation_id_uuid (state, out);
      return 36;
    case CORRELATION_ID_UUID_COUNTER:
      n = g_snprintf (out, CORRELATION_ID_MAX, "%s#%" G_GUINT64_FORMAT, state->worker_uuid, ++state->counter);
      break;
    case CORRELATION_ID_TRACKER:
    default:
      n = g_snprintf (out, CORRELATION_ID_MAX, "%s-%u-%u-%u-%" G_GUINT64_FORMAT "-%" G_GINT64_FORMAT ".%03d",
                      tracker->client_ip ? tracker->client_ip : "-", tracker->server_port, tracker->pid,
                      tracker->client_port, tracker->request_id, tracker->now_us / G_USEC_PER_SEC,
                      (int) (tracker->now_us % G_USEC_PER_SEC / 1000));
      break;
    }
  return MIN ((gsize) n, CORRELATION_ID_MAX - 1);
}
