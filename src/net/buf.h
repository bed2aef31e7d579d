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

/* portico_buf_reserve's work when the room is not there already. */
void portico_buf_make_room (PorticoBuf *b, gsize room);

/* Makes sure a block is there and at least @room bytes are free after end:
 * allocates, compacts or grows (never shrinks). Inline: a request's head
 * is written in dozens of small appends that almost always fit. */
static inline void
portico_buf_reserve (PorticoBuf *b, gsize room)
{
  if (G_UNLIKELY (b->data == NULL || portico_buf_space (b) < room))
    portico_buf_make_room (b, room);
}

/* Appends @len bytes (reserving room first). */
static inline void
portico_buf_append (PorticoBuf *b, const void *data, gsize len)
{
  portico_buf_reserve (b, len);
  memcpy (b->data + b->end, data, len);
  b->end += (guint32) len;
}

/* Appends @value in decimal: what a head's numbers need, without printf's
 * cost on every request. */
void portico_buf_append_uint (PorticoBuf *b, guint64 value);
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
