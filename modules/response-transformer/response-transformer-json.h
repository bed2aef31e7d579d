/* response-transformer-json.h: edits of the top-level members of a JSON
 * object, keeping everything else byte for byte. */
#pragma once

#include <glib.h>

#include "transform-ops.h"

G_BEGIN_DECLS

/* Applies @set (a TRANSFORM_TARGET_JSON set) to @text: remove, rename,
 * replace, add, append, in that order, on the object's top-level members.
 * Returns the new text (free it; *out_len its length), or NULL when @text
 * is not a JSON object (RFC 8259, UTF-8) or the edits change nothing: the
 * body then passes as it was. */
char *response_transformer_json_apply (const TransformSet *set, const char *text, gsize len, gsize *out_len);

G_END_DECLS
