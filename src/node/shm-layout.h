/* shm-layout.h: what the zone (shm.c) and the shared dictionary inside it
 * (shdict.c) share. Internal to node/: the rest of Portico uses shm.h.
 *
 * The zone owns the mapping and decides where the dictionary's room goes;
 * the dictionary owns what is inside that room. */
#pragma once

#include "node/shm.h"

G_BEGIN_DECLS

/* Every part of the region starts on its own cache line. */
#define PORTICO_SHM_ALIGN 64
#define PORTICO_SHM_ALIGN_UP(n, a) (((n) + (a) - 1) / (a) * (a))

/* 1M live keys take a 2M-entry table (256 MiB): beyond any sane use. */
#define PORTICO_SHDICT_CAPACITY_MAX (1u << 20)

/* The parts of the region, each defined in the file that owns it. */
typedef struct _PorticoShmHeader PorticoShmHeader;     /* shm.c */
typedef struct _PorticoShdictHead PorticoShdictHead;   /* shdict.c: the lock and the counts */
typedef struct _PorticoShdictEntry PorticoShdictEntry; /* shdict.c: one slot of the table */

/* One process's view of the zone: its own pointers into the mapping. */
struct _PorticoShm {
  guint8 *base;
  gsize size;
  PorticoShmHeader *header;
  guint8 *slots;
  gsize slot_stride;
  guint n_slots;
  guint8 *traces; /* one ring of traced requests per slot */
  PorticoShdictHead *dict;
  PorticoShdictEntry *entries;
};

/* The room a dictionary of @capacity keys needs: its head, then the table
 * at @entries_offset from the head. */
typedef struct {
  guint32 table_size; /* entries in the table (a power of two, > capacity) */
  gsize entries_offset;
  gsize size;
} PorticoShdictLayout;

void portico_shdict_layout (guint capacity, PorticoShdictLayout *layout);
/* Sets up the head in fresh (zeroed) shared memory: in the master, before
 * it forks anything. */
gboolean portico_shdict_init (PorticoShdictHead *head, guint capacity, guint32 table_size, GError **error);

G_END_DECLS
