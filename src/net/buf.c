/* buf.c: byte buffers with a per-process free list of default-size blocks.
 * Workers are single-threaded processes, so the free list needs no lock. */
#include "net/buf.h"

#include <stdarg.h>
#include <stdio.h>

#define PORTICO_BUF_CACHE_MAX 4096

static GPtrArray *free_blocks; /* of PORTICO_BUF_BLOCK-byte blocks */
static guint blocks_in_use;

static char *
block_new (gsize size)
{
  if (size == PORTICO_BUF_BLOCK)
    {
      blocks_in_use++;
      if (free_blocks != NULL && free_blocks->len > 0)
        return g_ptr_array_steal_index_fast (free_blocks, free_blocks->len - 1);
    }
  return g_malloc (size);
}

static void
block_free (char *data, gsize size)
{
  if (size == PORTICO_BUF_BLOCK)
    {
      blocks_in_use--;
      if (free_blocks == NULL)
        free_blocks = g_ptr_array_new ();
      if (free_blocks->len < PORTICO_BUF_CACHE_MAX)
        {
          g_ptr_array_add (free_blocks, data);
          return;
        }
    }
  g_free (data);
}

void
portico_buf_compact (PorticoBuf *b)
{
  if (b->start == 0)
    return;
  gsize len = portico_buf_len (b);
  memmove (b->data, b->data + b->start, len);
  b->start = 0;
  b->end = (guint32) len;
}

void
portico_buf_make_room (PorticoBuf *b, gsize room)
{
  if (b->data == NULL)
    {
      gsize size = room <= PORTICO_BUF_BLOCK ? PORTICO_BUF_BLOCK : room;
      b->data = block_new (size);
      b->size = (guint32) size;
      b->start = b->end = 0;
      return;
    }
  if (portico_buf_space (b) >= room)
    return;
  gsize len = portico_buf_len (b);
  if (b->size - len >= room)
    {
      portico_buf_compact (b);
      return;
    }
  gsize size = b->size;
  while (size - len < room)
    size *= 2;
  char *data = g_malloc (size);
  memcpy (data, b->data + b->start, len);
  block_free (b->data, b->size);
  b->data = data;
  b->size = (guint32) size;
  b->start = 0;
  b->end = (guint32) len;
}

void
portico_buf_append_uint (PorticoBuf *b, guint64 value)
{
  char digits[20];
  gsize n = 0;

  do
    digits[sizeof digits - ++n] = (char) ('0' + value % 10);
  while ((value /= 10) != 0);
  portico_buf_append (b, digits + sizeof digits - n, n);
}

void
portico_buf_printf (PorticoBuf *b, const char *fmt, ...)
{
  va_list ap;
  portico_buf_reserve (b, 256);
  va_start (ap, fmt);
  int n = vsnprintf (portico_buf_tail (b), portico_buf_space (b), fmt, ap);
  va_end (ap);
  if (n < 0)
    return;
  if ((gsize) n >= portico_buf_space (b))
    {
      portico_buf_reserve (b, (gsize) n + 1);
      va_start (ap, fmt);
      vsnprintf (portico_buf_tail (b), portico_buf_space (b), fmt, ap);
      va_end (ap);
    }
  b->end += (guint32) n;
}

void
portico_buf_clear (PorticoBuf *b)
{
  if (b->data != NULL)
    block_free (b->data, b->size);
  b->data = NULL;
  b->start = b->end = b->size = 0;
}

gboolean
portico_buf_release (PorticoBuf *b)
{
  if (b->data == NULL)
    return TRUE;
  if (b->start != b->end)
    return FALSE;
  portico_buf_clear (b);
  return TRUE;
}

void
portico_buf_stats (guint *in_use, guint *cached)
{
  *in_use = blocks_in_use;
  *cached = free_blocks ? free_blocks->len : 0;
}
