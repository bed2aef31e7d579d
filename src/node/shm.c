/* shm.c: the node's shared-memory zone: the header and the worker slots,
 * laid out with the shared dictionary (shdict.c) in one anonymous shared
 * mapping.
 *
 * Layout (offsets from the start of the mapping, each 64-byte aligned):
 *   Header | n_slots slots (one cache-line-aligned stride each) | Dict | Entry table
 * The region holds no pointers: every process that inherited the mapping
 * derives its own from the offsets in the header. */
#include "node/shm.h"
#include "node/shm-layout.h"

#include <errno.h>
#include <sched.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>
#include <gio/gio.h>
#include "core/histogram.h"

#define SHM_MAGIC 0x314d5350u /* "PSM1" */

/* A seqlock reader spins a little, yields a little, then sleeps: a writer
 * preempted mid-write on a busy machine needs its CPU back to finish. It
 * gives up after some 15-30 ms (only a writer that died mid-write makes it
 * wait that long). */
#define SEQ_READ_TRIES 400
#define SEQ_READ_SPINS 64
#define SEQ_READ_YIELDS 128
#define SEQ_READ_SLEEP_US 50

#if defined(__x86_64__) || defined(__i386__)
#define CPU_RELAX() __builtin_ia32_pause ()
#else
#define CPU_RELAX() __atomic_signal_fence (__ATOMIC_SEQ_CST)
#endif

typedef struct _PorticoShmHeader {
  guint32 magic;
  guint32 n_slots;
  guint32 slot_stride;
  guint32 table_size;
  guint64 size;
  guint64 slots_offset;
  guint64 traces_offset;
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

/* --- traced requests --- */

/* Each worker slot keeps its last PORTICO_SHM_TRACES traced requests, the
 * record with id N at entry (N - 1) % PORTICO_SHM_TRACES. Only the slot's
 * worker writes; readers copy an entry under its sequence counter. */
typedef struct {
  volatile guint32 seq;
  guint32 reserved;
  PorticoTraceRecord record;
} TraceEntry;

typedef struct {
  guint64 last_id; /* the highest id put */
  guint8 pad[PORTICO_SHM_ALIGN - sizeof (guint64)];
  TraceEntry entries[PORTICO_SHM_TRACES];
} __attribute__ ((aligned (PORTICO_SHM_ALIGN))) TraceRing;

/* --- the zone --- */

PorticoShm *
portico_shm_new (guint n_slots, guint dict_capacity, GError **error)
{
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);
  if (n_slots > PORTICO_SHM_MAX_WORKERS || dict_capacity > PORTICO_SHDICT_CAPACITY_MAX)
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
                   "shared memory: %u worker slots (at most %u) and %u dictionary entries (at most %u)",
                   n_slots, PORTICO_SHM_MAX_WORKERS, dict_capacity, PORTICO_SHDICT_CAPACITY_MAX);
      return NULL;
    }
  PorticoShdictLayout dict;
  portico_shdict_layout (dict_capacity, &dict);
  gsize stride = PORTICO_SHM_ALIGN_UP (sizeof (PorticoShmSlot), PORTICO_SHM_ALIGN);
  gsize slots_offset = PORTICO_SHM_ALIGN_UP (sizeof (Header), PORTICO_SHM_ALIGN);
  gsize traces_offset = slots_offset + n_slots * stride;
  gsize dict_offset = traces_offset + n_slots * sizeof (TraceRing);
  gsize entries_offset = dict_offset + dict.entries_offset;
  gsize size = PORTICO_SHM_ALIGN_UP (dict_offset + dict.size, (gsize) sysconf (_SC_PAGESIZE));

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
  shm->traces = shm->base + traces_offset;
  shm->dict = (PorticoShdictHead *) (shm->base + dict_offset);
  shm->entries = (PorticoShdictEntry *) (shm->base + entries_offset);

  Header *h = shm->header;
  h->magic = SHM_MAGIC;
  h->n_slots = n_slots;
  h->slot_stride = (guint32) stride;
  h->table_size = dict.table_size;
  h->size = size;
  h->slots_offset = slots_offset;
  h->traces_offset = traces_offset;
  h->dict_offset = dict_offset;
  h->entries_offset = entries_offset;
  if (!portico_shdict_init (shm->dict, dict_capacity, dict.table_size, error))
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

/* --- histogram buckets (core/histogram.h) --- */

G_STATIC_ASSERT (PORTICO_SHM_N_BUCKETS == PORTICO_HISTOGRAM_N_BUCKETS);

guint
portico_shm_bucket (guint64 us)
{
  return portico_histogram_bucket (us);
}

guint64
portico_shm_bucket_bound (guint i)
{
  return portico_histogram_bound (i);
}

/* --- traced requests --- */

static TraceRing *
trace_ring (PorticoShm *shm, guint slot)
{
  return (TraceRing *) (shm->traces + slot * sizeof (TraceRing));
}

void
portico_shm_trace_put (PorticoShm *shm, guint slot, const PorticoTraceRecord *record)
{
  g_return_if_fail (shm != NULL && slot < shm->n_slots && record->id > 0);
  TraceRing *ring = trace_ring (shm, slot);
  TraceEntry *e = &ring->entries[(record->id - 1) % PORTICO_SHM_TRACES];
  /* Only the spans in use: the reader stops at n_spans. */
  gsize used = G_STRUCT_OFFSET (PorticoTraceRecord, spans) +
               MIN (record->n_spans, PORTICO_TRACE_SPANS) * sizeof record->spans[0];
  seq_write_begin (&e->seq);
  memcpy (&e->record, record, used);
  seq_write_end (&e->seq);
  if (record->id > __atomic_load_n (&ring->last_id, __ATOMIC_RELAXED))
    __atomic_store_n (&ring->last_id, record->id, __ATOMIC_RELEASE);
}

guint64
portico_shm_trace_last_id (PorticoShm *shm, guint slot)
{
  g_return_val_if_fail (shm != NULL && slot < shm->n_slots, 0);
  return __atomic_load_n (&trace_ring (shm, slot)->last_id, __ATOMIC_ACQUIRE);
}

gboolean
portico_shm_trace_read (PorticoShm *shm, guint slot, guint index, PorticoTraceRecord *out)
{
  g_return_val_if_fail (shm != NULL && slot < shm->n_slots && index < PORTICO_SHM_TRACES, FALSE);
  TraceEntry *e = &trace_ring (shm, slot)->entries[index];
  if (!seq_read (&e->seq, out, &e->record, sizeof *out) || out->id == 0)
    return FALSE;
  out->n_spans = MIN (out->n_spans, PORTICO_TRACE_SPANS);
  /* What lies past the spans in use is an older record's: not this one's. */
  memset (&out->spans[out->n_spans], 0, (PORTICO_TRACE_SPANS - out->n_spans) * sizeof out->spans[0]);
  out->method[sizeof out->method - 1] = '\0';
  out->path[sizeof out->path - 1] = '\0';
  out->route[sizeof out->route - 1] = '\0';
  out->service[sizeof out->service - 1] = '\0';
  out->consumer[sizeof out->consumer - 1] = '\0';
  for (guint i = 0; i < out->n_spans; i++)
    out->spans[i].name[PORTICO_TRACE_NAME - 1] = '\0';
  return TRUE;
}
