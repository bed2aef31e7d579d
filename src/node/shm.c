/* shm.c: the node's shared-memory zone: the header, the worker slots and
 * the shared dictionary, laid out in one anonymous shared mapping.
 *
 * Layout (offsets from the start of the mapping, each 64-byte aligned):
 *   Header | n_slots slots (one cache-line-aligned stride each) | Dict | Entry table
 * The region holds no pointers: every process that inherited the mapping
 * derives its own from the offsets in the header. */
#include "node/shm.h"
#include "node/shm-private.h"

#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>
#include <gio/gio.h>

#define SHM_MAGIC 0x314d5350u /* "PSM1" */
#define SHM_ALIGN 64
#define ALIGN_UP(n, a) (((n) + (a) - 1) / (a) * (a))

/* A seqlock reader spins a little, yields a little, then sleeps: a writer
 * preempted mid-write on a busy machine needs its CPU back to finish. It
 * gives up after some 15-30 ms (only a writer that died mid-write makes it
 * wait that long). */
#define SEQ_READ_TRIES 400
#define SEQ_READ_SPINS 64
#define SEQ_READ_YIELDS 128
#define SEQ_READ_SLEEP_US 50

#define BUCKET_BASE_US 100

/* 1M live keys take a 2M-entry table (256 MiB): beyond any sane use. */
#define DICT_CAPACITY_MAX (1u << 20)

#if defined(__x86_64__) || defined(__i386__)
#define CPU_RELAX() __builtin_ia32_pause ()
#else
#define CPU_RELAX() __atomic_signal_fence (__ATOMIC_SEQ_CST)
#endif

/* A compiler barrier: keeps stores to the region in program order, so a
 * process killed between two of them leaves them half done, not reordered. */
#define STORE_ORDER() __atomic_signal_fence (__ATOMIC_SEQ_CST)

typedef struct {
  guint32 magic;
  guint32 n_slots;
  guint32 slot_stride;
  guint32 table_size;
  guint64 size;
  guint64 slots_offset;
  guint64 dict_offset;
  guint64 entries_offset;
  /* Written by the master only: scalars with atomic stores, the error
   * string behind its own sequence counter. */
  gint32 master_pid;
  guint32 generation;
  gint64 master_started_us;
  guint64 reloads;
  guint64 reload_failures;
  guint64 respawns;
  guint32 error_seq;
  char last_error[PORTICO_SHM_ERROR_MAX];
} Header;

enum {
  ENTRY_EMPTY = 0, /* what mmap gives: ends a probe */
  ENTRY_LIVE,      /* a key (maybe expired: free for a new key on insert) */
  ENTRY_TOMBSTONE, /* deleted: probes go on past it */
  ENTRY_DIRTY,     /* only inside dict_rebuild(): not yet moved */
};

typedef struct {
  guint64 hash;
  gint64 value;
  gint64 expires_ms; /* CLOCK_MONOTONIC milliseconds; 0: never */
  guint8 state;
  guint8 key_len;
  char key[PORTICO_SHDICT_KEY_MAX];
} Entry;

G_STATIC_ASSERT (sizeof (Entry) <= 128);

typedef struct {
  pthread_mutex_t lock; /* process-shared, robust; guards everything below */
  guint32 capacity;     /* live keys allowed */
  guint32 mask;         /* table size - 1 (a power of two, > capacity) */
  guint32 occupied;     /* ENTRY_LIVE entries, expired ones included */
  guint32 tombstones;
  gint64 next_expiry_ms; /* no entry expires before this */
  guint64 rebuilds;
  guint64 repairs;
} Dict;

struct _PorticoShm {
  guint8 *base;
  gsize size;
  Header *header;
  guint8 *slots;
  gsize slot_stride;
  guint n_slots;
  Dict *dict;
  Entry *entries;
};

/* --- sequence counters (single writer, lock-free readers) --- */

static void
seq_write_begin (volatile guint32 *seq)
{
  guint32 s = __atomic_load_n (seq, __ATOMIC_RELAXED);
  /* Odd already means the last writer died mid-write: move to another odd
   * value, so a reader that started before sees a change. */
  __atomic_store_n (seq, s + 1 + (s & 1), __ATOMIC_RELAXED);
  __atomic_thread_fence (__ATOMIC_RELEASE);
}

static void
seq_write_end (volatile guint32 *seq)
{
  guint32 s = __atomic_load_n (seq, __ATOMIC_RELAXED);
  __atomic_store_n (seq, (s | 1) + 1, __ATOMIC_RELEASE);
}

static void
seq_backoff (guint attempt)
{
  if (attempt < SEQ_READ_SPINS)
    CPU_RELAX ();
  else if (attempt < SEQ_READ_YIELDS)
    sched_yield ();
  else
    g_usleep (SEQ_READ_SLEEP_US);
}

/* Copies @n bytes guarded by @seq. FALSE when no attempt gave a consistent
 * copy (the writer never paused, or died mid-write); @dst then holds the
 * last attempt's bytes. */
static gboolean
seq_read (const volatile guint32 *seq, void *dst, const void *src, gsize n)
{
  for (guint i = 0; i < SEQ_READ_TRIES; i++)
    {
      gboolean last = i + 1 == SEQ_READ_TRIES;
      guint32 s1 = __atomic_load_n (seq, __ATOMIC_ACQUIRE);
      if (!(s1 & 1) || last)
        {
          memcpy (dst, src, n);
          __atomic_thread_fence (__ATOMIC_ACQUIRE);
          if (!(s1 & 1) && __atomic_load_n (seq, __ATOMIC_RELAXED) == s1)
            return TRUE;
        }
      seq_backoff (i);
    }
  return FALSE;
}

/* --- the zone --- */

static guint32
table_size_for (guint capacity)
{
  /* At most 2/3 full of live keys, so probes stay short. */
  guint32 size = 8;
  while (size < capacity + capacity / 2)
    size <<= 1;
  return size;
}

static gboolean
dict_init (Dict *d, guint capacity, guint32 table_size, GError **error)
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

PorticoShm *
portico_shm_new (guint n_slots, guint dict_capacity, GError **error)
{
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);
  if (n_slots > PORTICO_SHM_MAX_WORKERS || dict_capacity > DICT_CAPACITY_MAX)
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
                   "shared memory: %u worker slots (at most %u) and %u dictionary entries (at most %u)",
                   n_slots, PORTICO_SHM_MAX_WORKERS, dict_capacity, DICT_CAPACITY_MAX);
      return NULL;
    }
  guint32 table_size = table_size_for (dict_capacity);
  gsize stride = ALIGN_UP (sizeof (PorticoShmSlot), SHM_ALIGN);
  gsize slots_offset = ALIGN_UP (sizeof (Header), SHM_ALIGN);
  gsize dict_offset = slots_offset + n_slots * stride;
  gsize entries_offset = dict_offset + ALIGN_UP (sizeof (Dict), SHM_ALIGN);
  gsize size = ALIGN_UP (entries_offset + (gsize) table_size * sizeof (Entry), (gsize) sysconf (_SC_PAGESIZE));

  void *base = mmap (NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
  if (base == MAP_FAILED)
    {
      int saved = errno;
      g_set_error (error, G_IO_ERROR, g_io_error_from_errno (saved),
                   "cannot map %" G_GSIZE_FORMAT " bytes of shared memory: %s", size, g_strerror (saved));
      return NULL;
    }

  PorticoShm *shm = g_new0 (PorticoShm, 1);
  shm->base = base;
  shm->size = size;
  shm->header = base;
  shm->slots = shm->base + slots_offset;
  shm->slot_stride = stride;
  shm->n_slots = n_slots;
  shm->dict = (Dict *) (shm->base + dict_offset);
  shm->entries = (Entry *) (shm->base + entries_offset);

  Header *h = shm->header;
  h->magic = SHM_MAGIC;
  h->n_slots = n_slots;
  h->slot_stride = (guint32) stride;
  h->table_size = table_size;
  h->size = size;
  h->slots_offset = slots_offset;
  h->dict_offset = dict_offset;
  h->entries_offset = entries_offset;
  if (!dict_init (shm->dict, dict_capacity, table_size, error))
    {
      portico_shm_free (shm);
      return NULL;
    }
  return shm;
}

/* Unmaps this process's view; the zone lives on in the others. */
void
portico_shm_free (PorticoShm *shm)
{
  if (shm == NULL)
    return;
  munmap (shm->base, shm->size);
  g_free (shm);
}

guint
portico_shm_n_slots (PorticoShm *shm)
{
  g_return_val_if_fail (shm != NULL, 0);
  return shm->n_slots;
}

/* --- the header --- */

void
portico_shm_set_master (PorticoShm *shm, pid_t pid, gint64 started_us)
{
  g_return_if_fail (shm != NULL);
  __atomic_store_n (&shm->header->master_pid, (gint32) pid, __ATOMIC_RELAXED);
  __atomic_store_n (&shm->header->master_started_us, started_us, __ATOMIC_RELAXED);
}

pid_t
portico_shm_master_pid (PorticoShm *shm)
{
  g_return_val_if_fail (shm != NULL, 0);
  return __atomic_load_n (&shm->header->master_pid, __ATOMIC_RELAXED);
}

gint64
portico_shm_master_started (PorticoShm *shm)
{
  g_return_val_if_fail (shm != NULL, 0);
  return __atomic_load_n (&shm->header->master_started_us, __ATOMIC_RELAXED);
}

void
portico_shm_set_generation (PorticoShm *shm, guint32 generation)
{
  g_return_if_fail (shm != NULL);
  __atomic_store_n (&shm->header->generation, generation, __ATOMIC_RELAXED);
}

guint32
portico_shm_generation (PorticoShm *shm)
{
  g_return_val_if_fail (shm != NULL, 0);
  return __atomic_load_n (&shm->header->generation, __ATOMIC_RELAXED);
}

/* Copies @src into @dst (@size bytes with the NUL), cutting before a
 * partial UTF-8 character: the admin API puts this string in JSON. */
static void
copy_truncated (char *dst, gsize size, const char *src)
{
  gsize n = strlen (src);
  if (n >= size)
    {
      n = size - 1;
      while (n > 0 && ((guchar) src[n] & 0xC0) == 0x80)
        n--;
    }
  memcpy (dst, src, n);
  dst[n] = '\0';
}

/* Every reload counts in reloads; a refused one also in reload_failures,
 * and its @error is kept until the next reload. */
void
portico_shm_count_reload (PorticoShm *shm, gboolean ok, const char *error)
{
  g_return_if_fail (shm != NULL);
  Header *h = shm->header;
  seq_write_begin (&h->error_seq);
  copy_truncated (h->last_error, sizeof h->last_error, ok || error == NULL ? "" : error);
  seq_write_end (&h->error_seq);
  __atomic_fetch_add (&h->reloads, 1, __ATOMIC_RELAXED);
  if (!ok)
    __atomic_fetch_add (&h->reload_failures, 1, __ATOMIC_RELAXED);
}

guint64
portico_shm_reloads (PorticoShm *shm)
{
  g_return_val_if_fail (shm != NULL, 0);
  return __atomic_load_n (&shm->header->reloads, __ATOMIC_RELAXED);
}

guint64
portico_shm_reload_failures (PorticoShm *shm)
{
  g_return_val_if_fail (shm != NULL, 0);
  return __atomic_load_n (&shm->header->reload_failures, __ATOMIC_RELAXED);
}

void
portico_shm_last_reload_error (PorticoShm *shm, char *buf, gsize size)
{
  g_return_if_fail (shm != NULL && buf != NULL && size > 0);
  Header *h = shm->header;
  char copy[PORTICO_SHM_ERROR_MAX];
  /* Better no message than a torn one (only a master killed mid-write
   * leaves the counter odd for good). */
  if (!seq_read (&h->error_seq, copy, h->last_error, sizeof copy))
    copy[0] = '\0';
  copy[sizeof copy - 1] = '\0';
  copy_truncated (buf, size, copy);
}

void
portico_shm_count_respawn (PorticoShm *shm)
{
  g_return_if_fail (shm != NULL);
  __atomic_fetch_add (&shm->header->respawns, 1, __ATOMIC_RELAXED);
}

guint64
portico_shm_respawns (PorticoShm *shm)
{
  g_return_val_if_fail (shm != NULL, 0);
  return __atomic_load_n (&shm->header->respawns, __ATOMIC_RELAXED);
}

/* --- worker slots --- */

static PorticoShmSlot *
slot_at (PorticoShm *shm, guint index)
{
  return (PorticoShmSlot *) (shm->slots + index * shm->slot_stride);
}

PorticoShmSlot *
portico_shm_slot (PorticoShm *shm, guint index)
{
  g_return_val_if_fail (shm != NULL && index < shm->n_slots, NULL);
  return slot_at (shm, index);
}

void
portico_shm_slot_write_begin (PorticoShmSlot *slot)
{
  g_return_if_fail (slot != NULL);
  seq_write_begin (&slot->seq);
}

void
portico_shm_slot_write_end (PorticoShmSlot *slot)
{
  g_return_if_fail (slot != NULL);
  seq_write_end (&slot->seq);
}

void
portico_shm_slot_read (PorticoShm *shm, guint index, PorticoShmSlot *copy)
{
  g_return_if_fail (shm != NULL && index < shm->n_slots && copy != NULL);
  PorticoShmSlot *slot = slot_at (shm, index);
  /* A writer that never lets go (or died mid-write) gets its last copy
   * returned: a status page must not hang on one worker. */
  seq_read (&slot->seq, copy, slot, sizeof *copy);
}

/* --- histogram buckets --- */

guint
portico_shm_bucket (guint64 us)
{
  if (us <= BUCKET_BASE_US)
    return 0;
  /* The smallest i with 2^i >= ceil(us / 100). */
  guint64 q = us / BUCKET_BASE_US + (us % BUCKET_BASE_US != 0);
  guint i = 64 - (guint) __builtin_clzll (q - 1);
  return MIN (i, PORTICO_SHM_N_BUCKETS - 1);
}

guint64
portico_shm_bucket_bound (guint i)
{
  if (i >= PORTICO_SHM_N_BUCKETS - 1)
    return G_MAXUINT64;
  return (guint64) BUCKET_BASE_US << i;
}

/* --- the shared dictionary --- */

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
