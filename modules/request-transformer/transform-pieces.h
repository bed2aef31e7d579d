/* transform-pieces.h: a text made of named pieces, edited in place: the
 * arguments of a query string (request-transformer) and the top-level
 * members of a JSON object (response-transformer). The pieces no edit
 * touches keep their bytes and their place. */
#pragma once

#include <glib.h>

#include "transform-ops.h"

G_BEGIN_DECLS

/* One piece: "name=value" or a bare "name" in a query, "name": value in a
 * JSON object. */
typedef struct {
  const char *text;  /* the piece as it will be written: its original bytes, or rebuilt */
  gsize len;
  const char *name;  /* the name as written (still encoded) */
  gsize name_len;
  const char *value; /* the value as written; NULL for a bare query argument */
  gsize value_len;
  char *owned;       /* the text, once rebuilt */
  gboolean removed;
} TransformPiece;

/* How one kind of text writes and reads its pieces. A rebuilt piece is
 * @open NAME @separator VALUE (or @open NAME when there is no value). */
typedef struct {
  const char *open;
  const char *separator;
  /* Whether the written @name decodes to @plain. */
  gboolean (*name_is) (const char *name, gsize len, const char *plain);
} TransformSyntax;

typedef struct {
  GArray *pieces; /* TransformPiece */
  const TransformSyntax *syntax;
} TransformPieces;

void transform_pieces_init (TransformPieces *p, const TransformSyntax *syntax);
void transform_pieces_clear (TransformPieces *p);

/* Adds a piece of the original text (not copied: it must outlive @p). */
void transform_pieces_add_original (TransformPieces *p, const TransformPiece *piece);

/* The first piece (not removed) named @plain, or NULL. */
TransformPiece *transform_pieces_first (TransformPieces *p, const char *plain);

/* Rebuilds @piece from a written name and value (which may point into the
 * piece itself). */
void transform_pieces_rewrite (TransformPiece *piece, const TransformSyntax *syntax, const char *name,
                               gsize name_len, const char *value, gsize value_len);

/* Appends a new piece with a written name and value. */
void transform_pieces_append (TransformPieces *p, const char *name, const char *value);

/* Writes the pieces left, @separator between them. */
void transform_pieces_join (const TransformPieces *p, GString *out, char separator);

/* The edits both kinds share (TransformEditFunc, target a TransformPieces):
 * remove every piece of the name; rename every one in place, removing those
 * of the new name; replace the first one's value, removing the others; add
 * one at the end when the name is absent. Append differs. */
gboolean transform_pieces_remove (gpointer pieces, const TransformPair *pair);
gboolean transform_pieces_rename (gpointer pieces, const TransformPair *pair);
gboolean transform_pieces_replace (gpointer pieces, const TransformPair *pair);
gboolean transform_pieces_add (gpointer pieces, const TransformPair *pair);

G_END_DECLS
