/* tests/integration/exposition-check.h - a strict reader of the Prometheus
 * text exposition format 0.0.4 (see exposition-check.c for what it checks).
 */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

typedef struct _PorticoExposition PorticoExposition;

/**
 * portico_exposition_parse:
 * @text: a whole exposition, every line ending with a newline
 *
 * Checks @text and keeps its samples. Aborts the test (g_error or a failed
 * assertion naming the line) on the first thing that does not fit.
 */
PorticoExposition *portico_exposition_parse (const char *text);

/** The value of sample @key, written exactly as in the text: `name` or
 * `name{a="1",b="2"}`. Aborts the test if there is none. */
double portico_exposition_sample (PorticoExposition *e, const char *key);

gboolean portico_exposition_has (PorticoExposition *e, const char *key);

/** The TYPE of @family ("counter", "gauge", "histogram", ...), or %NULL. */
const char *portico_exposition_type (PorticoExposition *e, const char *family);

void portico_exposition_free (PorticoExposition *e);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (PorticoExposition, portico_exposition_free)

G_END_DECLS
