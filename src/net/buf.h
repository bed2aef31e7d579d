/* buf.h: byte buffers for connections.
 *
 * A buffer holds bytes in [start, end) of a block. Blocks of the default
 * size come from a per-process free list, so a worker that serves many
 * requests does not go back to malloc for each; an idle connection hands
 * its blocks back (portico_buf_release), which is why an idle keep-alive
 * connection costs a few hundred bytes, not tens of KiB.
 */
#pragma once

#include <glib.h>
#include <string.h>

G_BEGIN_DECLS

#define PORTICO_BUF_BLOCK (16 * 1024)

typedef struct {
  char *data;
  guint32 start;
  guint32 end;
  guint32 size;
} PorticoBuf;

static inline gsize
portico_buf_len (const PorticoBuf *b)
{
  return b->end - b->start;
}

static inline gsize
portico_buf_space (const PorticoBuf *b)
{
  return b->size - b->end;
}

static inline char *
portico_buf_head (const PorticoBuf *b)
{
  return b->data + b->start;
}

static inline char *
portico_buf_tail (const PorticoBuf *b)
{
  return b->data + b->end;
}

static inline void
portico_buf_consume (PorticoBuf *b, gsize n)
{
  b->start += (guint32) n;
  if (b->start == b->end)
    b->start = b->end = 0;
}

/* Makes sure a block is there and at least @room bytes are free after end:
 * allocates, compacts or grows (never shrinks). */
void portico_buf_reserve (PorticoBuf *b, gsize room);
/* Appends @len bytes (reserving room first). */
void portico_buf_append (PorticoBuf *b, const void *data, gsize len);
void portico_buf_printf (PorticoBuf *b, const char *fmt, ...) G_GNUC_PRINTF (2, 3);
/* Moves the bytes to the start of the block. */
void portico_buf_compact (PorticoBuf *b);
/* Gives the block back if the buffer is empty; returns whether it did. */
gboolean portico_buf_release (PorticoBuf *b);
/* Gives the block back, dropping any bytes. */
void portico_buf_clear (PorticoBuf *b);

/* Blocks currently handed out and cached, for stats and tests. */
void portico_buf_stats (guint *in_use, guint *cached);

G_END_DECLS
