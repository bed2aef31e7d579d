/* transform-pieces.c: see transform-pieces.h. */
#include "transform-pieces.h"

#include <string.h>

static void
piece_clear (gpointer data)
{
  g_free (((TransformPiece *) data)->owned);
}

void
transform_pieces_init (TransformPieces *p, const TransformSyntax *syntax)
{
  p->pieces = g_array_new (FALSE, TRUE, sizeof (TransformPiece));
  g_array_set_clear_func (p->pieces, piece_clear);
  p->syntax = syntax;
}

void
transform_pieces_clear (TransformPieces *p)
{
  g_clear_pointer (&p->pieces, g_array_unref);
}

void
transform_pieces_add_original (TransformPieces *p, const TransformPiece *piece)
{
  g_array_append_vals (p->pieces, piece, 1);
}

static gboolean
piece_is (const TransformPieces *p, const TransformPiece *piece, const char *plain)
{
  return !piece->removed && p->syntax->name_is (piece->name, piece->name_len, plain);
}

TransformPiece *
transform_pieces_first (TransformPieces *p, const char *plain)
{
  for (guint i = 0; i < p->pieces->len; i++)
    if (piece_is (p, &g_array_index (p->pieces, TransformPiece, i), plain))
      return &g_array_index (p->pieces, TransformPiece, i);
  return NULL;
}

void
transform_pieces_rewrite (TransformPiece *piece, const TransformSyntax *syntax, const char *name,
                          gsize name_len, const char *value, gsize value_len)
{
  gsize open = strlen (syntax->open), sep = value ? strlen (syntax->separator) : 0;
  GString *text = g_string_sized_new (open + name_len + sep + value_len);
  g_string_append (text, syntax->open);
  g_string_append_len (text, name, name_len);
  if (value != NULL)
    {
      g_string_append (text, syntax->separator);
      g_string_append_len (text, value, value_len);
    }
  /* @name and @value may point into the old text: free it only now. */
  g_free (piece->owned);
  piece->len = text->len;
  piece->owned = g_string_free (text, FALSE);
  piece->text = piece->owned;
  piece->name = piece->owned + open;
  piece->name_len = name_len;
  piece->value = value ? piece->owned + open + name_len + sep : NULL;
  piece->value_len = value ? value_len : 0;
}

void
transform_pieces_append (TransformPieces *p, const char *name, const char *value)
{
  TransformPiece piece = { 0 };
  transform_pieces_rewrite (&piece, p->syntax, name, strlen (name), value, value ? strlen (value) : 0);
  g_array_append_val (p->pieces, piece);
}

void
transform_pieces_join (const TransformPieces *p, GString *out, char separator)
{
  gboolean first = TRUE;
  for (guint i = 0; i < p->pieces->len; i++)
    {
      const TransformPiece *piece = &g_array_index (p->pieces, TransformPiece, i);
      if (piece->removed)
        continue;
      if (!first)
        g_string_append_c (out, separator);
      first = FALSE;
      g_string_append_len (out, piece->text, piece->len);
    }
}

static gboolean
remove_named (TransformPieces *p, const char *plain)
{
  gboolean found = FALSE;
  for (guint i = 0; i < p->pieces->len; i++)
    {
      TransformPiece *piece = &g_array_index (p->pieces, TransformPiece, i);
      if (piece_is (p, piece, plain))
        piece->removed = found = TRUE;
    }
  return found;
}

gboolean
transform_pieces_remove (gpointer pieces, const TransformPair *pair)
{
  return remove_named (pieces, pair->name);
}

gboolean
transform_pieces_rename (gpointer pieces, const TransformPair *pair)
{
  TransformPieces *p = pieces;
  if (strcmp (pair->name, pair->value) == 0 || transform_pieces_first (p, pair->name) == NULL)
    return FALSE;
  remove_named (p, pair->value);
  for (guint i = 0; i < p->pieces->len; i++)
    {
      TransformPiece *piece = &g_array_index (p->pieces, TransformPiece, i);
      if (piece_is (p, piece, pair->name))
        transform_pieces_rewrite (piece, p->syntax, pair->out_value, strlen (pair->out_value), piece->value,
                                  piece->value_len);
    }
  return TRUE;
}

gboolean
transform_pieces_replace (gpointer pieces, const TransformPair *pair)
{
  TransformPieces *p = pieces;
  TransformPiece *first = transform_pieces_first (p, pair->name);
  if (first == NULL)
    return FALSE;
  for (guint i = first - &g_array_index (p->pieces, TransformPiece, 0) + 1; i < p->pieces->len; i++)
    {
      TransformPiece *piece = &g_array_index (p->pieces, TransformPiece, i);
      if (piece_is (p, piece, pair->name))
        piece->removed = TRUE;
    }
  transform_pieces_rewrite (first, p->syntax, first->name, first->name_len, pair->out_value,
                            strlen (pair->out_value));
  return TRUE;
}

gboolean
transform_pieces_add (gpointer pieces, const TransformPair *pair)
{
  if (transform_pieces_first (pieces, pair->name) != NULL)
    return FALSE;
  transform_pieces_append (pieces, pair->out_name, pair->out_value);
  return TRUE;
}
