/* shm-private.h: hooks into the shared-memory zone for its unit tests only.
 * Nothing in the node calls these. */
#pragma once

#include "node/shm.h"

G_BEGIN_DECLS

typedef struct {
  guint table_size;   /* slots in the open-addressing table (> capacity) */
  guint occupied;     /* live entries as counted, expired ones included */
  guint tombstones;
  guint64 rebuilds;   /* in-place rehashes */
  guint64 repairs;    /* recoveries from a process that died holding the lock */
  gboolean consistent; /* counts match the table; every key found from its home, once */
} PorticoShdictTestStats;

/* Takes the dictionary lock and returns still holding it: a test child
 * calls this and dies, like a worker killed inside a dictionary call. */
void portico_shdict_test_lock (PorticoShm *shm);
/* Walks the whole table under the lock. */
void portico_shdict_test_stats (PorticoShm *shm, PorticoShdictTestStats *stats);

G_END_DECLS
