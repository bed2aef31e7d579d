/* report-trace.h: `portico run --trace FILE`: the traced requests in
 * Chrome's trace-event format (JSON), which https://ui.perfetto.dev and
 * chrome://tracing open.
 *
 * One process per scenario variant; in it one thread for the client (the
 * request as the runner saw it) and one per node (the gateway's phase
 * windows, each module's handler calls nested inside them, and the
 * upstream try). Times are microseconds from the client's start of the
 * traced request, so every variant starts at 0 and reads side by side.
 */
#pragma once

#include <json-glib/json-glib.h>

#include "lab/results.h"

G_BEGIN_DECLS

/* Appends the events of every variant of @results to @events (a JSON
 * array); @first_pid numbers the variants' processes from there. Returns
 * the next free pid. */
guint portico_trace_events_add (JsonArray *events, const PorticoResults *results, guint first_pid);

/* {"traceEvents": @events, "displayTimeUnit": "ms"}; takes @events. */
JsonNode *portico_trace_document (JsonArray *events);

G_END_DECLS
