/* shdict.c: the shared dictionary: keyed counters with expiry, in the
 * zone's shared mapping, that every process of the node sees alike.
 *
 * An open-addressing table with linear probing, guarded by one
 * process-shared robust mutex. The zone (shm.c) places the head and the
 * table in the mapping; what is inside them is this file's business. A
 * process killed at any point leaves the table readable: stores that
 * matter go in a fixed order, and the next process to take the lock
 * repairs what was left half done. */
#include "node/shm-layout.h"
#include "node/shm-private.h"

#include <errno.h>
#include <pthread.h>
#include <string.h>
#include <time.h>
#include <gio/gio.h>

/* A compiler barrier: keeps stores to the region in program order, so a
 * process killed between two of them leaves them half done, not reordered. */
#define STORE_ORDER() __atomic_signal_fence (__ATOMIC_SEQ_CST)

enum {
  ENTRY_EMPTY = 0, /* what mmap gives: ends a probe */
  ENTRY_LIVE,      /* a key (maybe expired: free for a new key on insert) */
  ENTRY_TOMBSTONE, /* deleted: probes go on past it */
  ENTRY_DIRTY,     /* only inside dict_rebuild(): not yet moved */
};

typedef struct _PorticoShdictEntry {
  guint64 hash;
  gint64 value;
  gint64 expires_ms; /* CLOCK_MONOTONIC milliseconds; 0: never */
  guint8 state;
  guint8 key_len;
  char key[PORTICO_SHDICT_KEY_MAX];
} Entry;

G_STATIC_ASSERT (sizeof (Entry) <= 256);

typedef struct _PorticoShdictHead {
  pthread_mutex_t lock; /* process-shared, robust; guards everything below */
  guint32 capacity;     /* live keys allowed */
  guint32 mask;         /* table size - 1 (a power of two, > capacity) */
  guint32 occupied;     /* ENTRY_LIVE entries, expired ones included */
  guint32 tombstones;
  gint64 next_expiry_ms; /* no entry expires before this */
  guint64 rebuilds;
  guint64 repairs;
} Dict;

/* --- the dictionary's room in the zone (shm-layout.h) --- */

static guint32
table_size_for (guint capacity)
{
  /* At most 2/3 full of live keys, so probes stay short. */
  guint32 size = 8;
  while (size < capacity + capacity / 2)
    size <<= 1;
  return size;
}

void
portico_shdict_layout (guint capacity, PorticoShdictLayout *layout)
{
  layout->table_size = table_size_for (capacity);
  layout->entries_offset = PORTICO_SHM_ALIGN_UP (sizeof (Dict), PORTICO_SHM_ALIGN);
  layout->size = layout->entries_offset + (gsize) layout->table_size * sizeof (Entry);
}

gboolean
portico_shdict_init (Dict *d, guint capacity, guint32 table_size, GError **error)
{
  pthread_mutexattr_t attr;
  pthread_mutexattr_init (&attr);
  pthread_mutexattr_setpshared (&attr, PTHREAD_PROCESS_SHARED);
  /* A worker killed while holding the lock must not wedge the node. */
  pthread_mutexattr_setrobust (&attr, PTHREAD_MUTEX_ROBUST);
  int rc = pthread_mutex_init (&d->lock, &attr);
  pthread_mutexattr_destroy (&attr);
  if (rc != 0)
    {
      g_set_error (error, G_IO_ERROR, g_io_error_from_errno (rc),
                   "cannot create the shared dictionary lock: %s", g_strerror (rc));
      return FALSE;
    }
  d->capacity = capacity;
  d->mask = table_size - 1;
  d->next_expiry_ms = G_MAXINT64;
  return TRUE;
}

/* --- the table --- */

#define HASH_K1 0x9e3779b97f4a7c15ull
#define HASH_K2 0xbf58476d1ce4e5b9ull
#define HASH_K3 0x94d049bb133111ebull

static inline guint64
hash_rotl (guint64 x, int r)
{
  return (x << r) | (x >> (64 - r));
}

static inline guint64
hash_finish (guint64 x)
{
  x ^= x >> 30;
  x *= HASH_K2;
  x ^= x >> 27;
  x *= HASH_K3;
  return x ^ (x >> 31);
}

/* Eight bytes a step, multiply-rotate, then a full avalanche at the end:
 * keys are short and alike ("rl:alice:minute:28911..."), so every input
 * bit must reach the low bits that pick the slot. */
static guint64
hash_key (const char *key, gsize len)
{
  guint64 h = HASH_K1 * (len + 1);
  gsize i = 0;
  for (; i + 8 <= len; i += 8)
    {
      guint64 w;
      memcpy (&w, key + i, 8);
      h = hash_rotl (h ^ (w * HASH_K2), 31) * HASH_K1;
    }
  guint64 w = 0;
  memcpy (&w, key + i, len - i);
  h = hash_rotl (h ^ (w * HASH_K2), 31) * HASH_K1;
  return hash_finish (h);
}

/* Milliseconds on CLOCK_MONOTONIC, the same clock in every process; read
 * at most once per call, and only when an expiry is involved. */
static gint64
clock_now (gint64 *now)
{
  if (*now < 0)
    {
      struct timespec ts;
      clock_gettime (CLOCK_MONOTONIC, &ts);
      *now = (gint64) ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
    }
  return *now;
}

static inline gboolean
entry_expired (const Entry *e, gint64 *now)
{
  return e->expires_ms != 0 && e->expires_ms <= clock_now (now);
}

static gint64
dict_expiry (Dict *d, guint ttl_ms, gint64 *now)
{
  if (ttl_ms == 0)
    return 0;
  gint64 t = clock_now (now) + ttl_ms;
  d->next_expiry_ms = MIN (d->next_expiry_ms, t);
  return t;
}

/* Finds @key's entry (expired or not). When it is absent and @spot is
 * given, *spot is where it would go: the first tombstone or expired entry
 * on the probe, else the empty entry that ended it (NULL: none). */
static Entry *
dict_find (PorticoShm *shm, const char *key, gsize len, guint64 hash, gint64 *now, Entry **spot)
{
  Dict *d = shm->dict;
  Entry *reuse = NULL;
  guint32 i = (guint32) hash & d->mask;
  for (guint32 n = 0; n <= d->mask; n++, i = (i + 1) & d->mask)
    {
      Entry *e = &shm->entries[i];
      if (e->state == ENTRY_EMPTY)
        {
          if (spot != NULL)
            *spot = reuse != NULL ? reuse : e;
          return NULL;
        }
      if (e->state == ENTRY_LIVE)
        {
          if (e->hash == hash && e->key_len == len && memcmp (e->key, key, len) == 0)
            return e;
          if (spot != NULL && reuse == NULL && entry_expired (e, now))
            reuse = e;
        }
      else if (reuse == NULL)
        reuse = e;
    }
  if (spot != NULL)
    *spot = reuse;
  return NULL;
}

static void
entry_bury (Dict *d, Entry *e)
{
  __atomic_store_n (&e->state, ENTRY_TOMBSTONE, __ATOMIC_RELAXED);
  d->occupied--;
  d->tombstones++;
}

/* Writes a new key into @e (empty, a tombstone or an expired key). An
 * expired key is buried first and the state is published last, so a
 * process killed halfway leaves a tombstone or the new key, never a mix. */
static void
entry_claim (Dict *d, Entry *e, const char *key, gsize len, guint64 hash, gint64 expires)
{
  if (e->state == ENTRY_LIVE)
    {
      entry_bury (d, e);
      STORE_ORDER ();
    }
  if (e->state == ENTRY_TOMBSTONE)
    d->tombstones--;
  e->hash = hash;
  e->key_len = (guint8) len;
  memcpy (e->key, key, len);
  e->key[len] = '\0';
  e->value = 0;
  e->expires_ms = expires;
  __atomic_store_n (&e->state, ENTRY_LIVE, __ATOMIC_RELEASE);
  d->occupied++;
}

/* Rehashes in place: drops tombstones and expired keys, then moves every
 * other key back as close to its home as it can go. Keys still to move are
 * DIRTY; one is carried at a time, swapped with any DIRTY key where it
 * lands, so no second table is needed. Placed keys never move again, and a
 * key is only placed after a run of placed keys, so probes stay correct. */
static void
dict_rebuild (PorticoShm *shm, gint64 *now)
{
  Dict *d = shm->dict;
  Entry *t = shm->entries;
  guint32 size = d->mask + 1, live = 0;
  gint64 next = G_MAXINT64;

  for (guint32 i = 0; i < size; i++)
    {
      Entry *e = &t[i];
      if ((e->state == ENTRY_LIVE || e->state == ENTRY_DIRTY) && !entry_expired (e, now))
        {
          e->state = ENTRY_DIRTY;
          live++;
          if (e->expires_ms != 0)
            next = MIN (next, e->expires_ms);
        }
      else
        e->state = ENTRY_EMPTY;
    }
  STORE_ORDER ();

  for (guint32 i = 0; i < size; i++)
    {
      if (t[i].state != ENTRY_DIRTY)
        continue;
      Entry carry = t[i];
      t[i].state = ENTRY_EMPTY;
      STORE_ORDER ();
      for (;;)
        {
          guint32 j = (guint32) carry.hash & d->mask;
          while (t[j].state == ENTRY_LIVE)
            j = (j + 1) & d->mask;
          gboolean displaces = t[j].state == ENTRY_DIRTY;
          Entry displaced;
          if (displaces)
            displaced = t[j];
          carry.state = ENTRY_LIVE;
          t[j] = carry;
          STORE_ORDER ();
          if (!displaces)
            break;
          carry = displaced;
        }
    }

  d->occupied = live;
  d->tombstones = 0;
  d->next_expiry_ms = next;
  d->rebuilds++;
}

/* After a process died holding the lock: drop what it left half written
 * (a key whose hash does not match), then rebuild, which also finishes a
 * rebuild it was in the middle of and recounts everything. At most the
 * one key it was moving is lost. */
static void
dict_repair (PorticoShm *shm)
{
  Dict *d = shm->dict;
  for (guint32 i = 0; i <= d->mask; i++)
    {
      Entry *e = &shm->entries[i];
      gboolean keyed = e->state == ENTRY_LIVE || e->state == ENTRY_DIRTY;
      if (keyed && (e->key_len >= PORTICO_SHDICT_KEY_MAX || e->hash != hash_key (e->key, e->key_len)))
        e->state = ENTRY_EMPTY;
    }
  gint64 now = -1;
  dict_rebuild (shm, &now);
  d->repairs++;
}

static gboolean
dict_lock (PorticoShm *shm)
{
  int rc = pthread_mutex_lock (&shm->dict->lock);
  if (G_LIKELY (rc == 0))
    return TRUE;
  if (rc == EOWNERDEAD)
    {
      pthread_mutex_consistent (&shm->dict->lock);
      dict_repair (shm);
      g_warning ("shared dictionary: a process died holding its lock; the table was checked and rebuilt");
      return TRUE;
    }
  g_critical ("shared dictionary: cannot take the lock: %s", g_strerror (rc));
  return FALSE;
}

static void
dict_unlock (PorticoShm *shm)
{
  pthread_mutex_unlock (&shm->dict->lock);
}

/* The entry for @key, unexpired; a missing or expired key is (re)started
 * at 0 with @ttl_ms to live. NULL when the table is full of live keys. */
static Entry *
dict_upsert (PorticoShm *shm, const char *key, gsize len, guint ttl_ms, gint64 *now)
{
  Dict *d = shm->dict;
  guint64 hash = hash_key (key, len);
  guint32 max_used = d->mask + 1 - (d->mask + 1) / 8;
  for (int pass = 0; pass < 2; pass++)
    {
      Entry *spot = NULL;
      Entry *e = dict_find (shm, key, len, hash, now, &spot);
      if (e != NULL)
        {
          if (entry_expired (e, now))
            {
              /* The value first: killed in between, the key is still expired. */
              e->value = 0;
              STORE_ORDER ();
              e->expires_ms = dict_expiry (d, ttl_ms, now);
            }
          return e;
        }
      if (spot != NULL && spot->state == ENTRY_LIVE) /* an expired key */
        {
          entry_claim (d, spot, key, len, hash, dict_expiry (d, ttl_ms, now));
          return spot;
        }
      if (spot != NULL && d->occupied < d->capacity
          && (spot->state == ENTRY_TOMBSTONE || d->occupied + d->tombstones < max_used))
        {
          entry_claim (d, spot, key, len, hash, dict_expiry (d, ttl_ms, now));
          return spot;
        }
      /* Full of live keys and none can have expired yet: say so without
       * scanning the table on every request. */
      if (spot != NULL && d->occupied >= d->capacity && d->next_expiry_ms > clock_now (now))
        return NULL;
      dict_rebuild (shm, now);
    }
  return NULL;
}

static gboolean
key_length (const char *key, gsize *len)
{
  *len = strnlen (key, PORTICO_SHDICT_KEY_MAX);
  return *len < PORTICO_SHDICT_KEY_MAX;
}

PorticoShdictResult
portico_shdict_incr (PorticoShm *shm, const char *key, gint64 delta, guint ttl_ms, gint64 *value)
{
  g_return_val_if_fail (shm != NULL && key != NULL, PORTICO_SHDICT_FULL);
  gsize len;
  if (!key_length (key, &len))
    return PORTICO_SHDICT_TOO_LONG;
  if (!dict_lock (shm))
    return PORTICO_SHDICT_FULL;
  gint64 now = -1;
  Entry *e = dict_upsert (shm, key, len, ttl_ms, &now);
  if (e != NULL)
    {
      /* Wraps rather than overflows (no undefined behaviour). */
      e->value = (gint64) ((guint64) e->value + (guint64) delta);
      if (value != NULL)
        *value = e->value;
    }
  dict_unlock (shm);
  return e != NULL ? PORTICO_SHDICT_OK : PORTICO_SHDICT_FULL;
}

PorticoShdictResult
portico_shdict_set (PorticoShm *shm, const char *key, gint64 value, guint ttl_ms)
{
  g_return_val_if_fail (shm != NULL && key != NULL, PORTICO_SHDICT_FULL);
  gsize len;
  if (!key_length (key, &len))
    return PORTICO_SHDICT_TOO_LONG;
  if (!dict_lock (shm))
    return PORTICO_SHDICT_FULL;
  gint64 now = -1;
  Entry *e = dict_upsert (shm, key, len, ttl_ms, &now);
  if (e != NULL)
    {
      e->value = value;
      e->expires_ms = dict_expiry (shm->dict, ttl_ms, &now);
    }
  dict_unlock (shm);
  return e != NULL ? PORTICO_SHDICT_OK : PORTICO_SHDICT_FULL;
}

gboolean
portico_shdict_get (PorticoShm *shm, const char *key, gint64 *value, gint64 *ttl_left_ms)
{
  g_return_val_if_fail (shm != NULL && key != NULL, FALSE);
  gsize len;
  if (!key_length (key, &len) || !dict_lock (shm))
    return FALSE;
  gint64 now = -1;
  Entry *e = dict_find (shm, key, len, hash_key (key, len), &now, NULL);
  gboolean found = e != NULL && !entry_expired (e, &now);
  if (found && value != NULL)
    *value = e->value;
  if (found && ttl_left_ms != NULL)
    *ttl_left_ms = e->expires_ms != 0 ? e->expires_ms - now : 0;
  dict_unlock (shm);
  return found;
}

gboolean
portico_shdict_delete (PorticoShm *shm, const char *key)
{
  g_return_val_if_fail (shm != NULL && key != NULL, FALSE);
  gsize len;
  if (!key_length (key, &len) || !dict_lock (shm))
    return FALSE;
  gint64 now = -1;
  Entry *e = dict_find (shm, key, len, hash_key (key, len), &now, NULL);
  gboolean found = e != NULL && !entry_expired (e, &now);
  if (e != NULL)
    entry_bury (shm->dict, e);
  dict_unlock (shm);
  return found;
}

void
portico_shdict_usage (PorticoShm *shm, guint *used, guint *capacity)
{
  g_return_if_fail (shm != NULL);
  guint n = 0;
  if (dict_lock (shm))
    {
      gint64 now = -1;
      for (guint32 i = 0; i <= shm->dict->mask; i++)
        n += shm->entries[i].state == ENTRY_LIVE && !entry_expired (&shm->entries[i], &now);
      dict_unlock (shm);
    }
  if (used != NULL)
    *used = n;
  if (capacity != NULL)
    *capacity = shm->dict->capacity;
}

typedef struct {
  gint64 value;
  gint64 ttl_left_ms;
  char key[PORTICO_SHDICT_KEY_MAX];
} ForeachItem;

guint
portico_shdict_foreach (PorticoShm *shm, const char *prefix, PorticoShdictFunc func, gpointer data)
{
  g_return_val_if_fail (shm != NULL && prefix != NULL && func != NULL, 0);
  gsize prefix_len = strlen (prefix);
  if (prefix_len >= PORTICO_SHDICT_KEY_MAX || !dict_lock (shm))
    return 0;

  /* Copy first, call after: the lock is held for one pass over the table,
   * never for what @func does. */
  GArray *items = g_array_new (FALSE, FALSE, sizeof (ForeachItem));
  gint64 now = -1;
  for (guint32 i = 0; i <= shm->dict->mask; i++)
    {
      const Entry *e = &shm->entries[i];
      if (e->state != ENTRY_LIVE || e->key_len < prefix_len || memcmp (e->key, prefix, prefix_len) != 0
          || entry_expired (e, &now))
        continue;
      ForeachItem *item;
      g_array_set_size (items, items->len + 1);
      item = &g_array_index (items, ForeachItem, items->len - 1);
      item->value = e->value;
      item->ttl_left_ms = e->expires_ms != 0 ? e->expires_ms - clock_now (&now) : 0;
      memcpy (item->key, e->key, e->key_len);
      item->key[e->key_len] = '\0';
    }
  dict_unlock (shm);

  for (guint i = 0; i < items->len; i++)
    {
      const ForeachItem *item = &g_array_index (items, ForeachItem, i);
      func (item->key, item->value, item->ttl_left_ms, data);
    }
  guint n = items->len;
  g_array_unref (items);
  return n;
}

/* --- test hooks (shm-private.h) --- */

void
portico_shdict_test_lock (PorticoShm *shm)
{
  dict_lock (shm);
}

void
portico_shdict_test_stats (PorticoShm *shm, PorticoShdictTestStats *stats)
{
  Dict *d = shm->dict;
  memset (stats, 0, sizeof *stats);
  if (!dict_lock (shm))
    return;
  gboolean ok = TRUE;
  gint64 now = -1;
  for (guint32 i = 0; i <= d->mask; i++)
    {
      Entry *e = &shm->entries[i];
      if (e->state == ENTRY_TOMBSTONE)
        stats->tombstones++;
      else if (e->state == ENTRY_LIVE)
        {
          stats->occupied++;
          ok = ok && e->hash == hash_key (e->key, e->key_len)
               && dict_find (shm, e->key, e->key_len, e->hash, &now, NULL) == e;
        }
      else if (e->state != ENTRY_EMPTY)
        ok = FALSE;
    }
  stats->table_size = d->mask + 1;
  stats->rebuilds = d->rebuilds;
  stats->repairs = d->repairs;
  stats->consistent = ok && stats->occupied == d->occupied && stats->tombstones == d->tombstones
                      && d->occupied <= d->capacity;
  dict_unlock (shm);
}
