/* expect.h: the expectations of a scenario, checked against what a run
 * measured (results.h).
 *
 * An expectation is one element of a scenario's "expect" array, loaded with
 * the scenario (docs/scenarios.md has every kind). portico_expect_check()
 * reads the results and says, in one line, what it found against what was
 * expected: "success ratio 0.998 >= 0.99". Missing data (no such variant,
 * a figure a node did not report, no request traced, nothing completed)
 * is a failure whose text says what is missing, never a pass.
 *
 * A ratio divides a figure by the same figure elsewhere: in another
 * variant ("over"), of another traffic entry ("over_traffic") or on another
 * node ("over_node"), the last two within each variant checked.
 */
#pragma once

#include <glib.h>
#include <json-glib/json-glib.h>

#include "core/json-reader.h"
#include "lab/results.h"

G_BEGIN_DECLS

/* What an expectation measures. */
typedef enum {
  /* client side: a traffic entry, or all of them */
  PORTICO_FIGURE_REQUESTS = 0,
  PORTICO_FIGURE_COMPLETED,
  PORTICO_FIGURE_RPS,
  PORTICO_FIGURE_CONNECTIONS_OPENED,
  PORTICO_FIGURE_SUCCESS_RATIO,  /* 2xx and 3xx answers over requests started */
  PORTICO_FIGURE_ERRORS,         /* requests without a whole answer (of one kind, or all) */
  PORTICO_FIGURE_STATUS,         /* answers with one code (or class) */
  PORTICO_FIGURE_HEADER_SEEN,    /* answers that carried one header */
  PORTICO_FIGURE_LATENCY,        /* a percentile, ms */
  PORTICO_FIGURE_CLIENT_TLS_HANDSHAKES, /* the load generator's, of one kind */
  /* gateway side: one node, or all of them (counts add up, maxima take the largest) */
  PORTICO_FIGURE_WORKERS_RESPAWNED,
  PORTICO_FIGURE_RELOADS,
  PORTICO_FIGURE_RELOAD_FAILURES,
  PORTICO_FIGURE_TIMERS_PENDING_MAX,
  PORTICO_FIGURE_TIMERS_BY_OWNER_MAX,
  PORTICO_FIGURE_LOOP_LAG_MAX_MS,
  PORTICO_FIGURE_UPSTREAM_CONNECTS,
  PORTICO_FIGURE_UPSTREAM_REUSES,
  PORTICO_FIGURE_UPSTREAM_FAILURES,
  PORTICO_FIGURE_GATEWAY_REQUESTS,
  PORTICO_FIGURE_TLS_HANDSHAKES, /* one side (downstream, upstream) and one kind */
  /* the traced request */
  PORTICO_FIGURE_PHASES,
  /* what the service received for one request of a traffic entry: the
   * mock's echo (docs/mock.md), kept in PorticoVariantResults.upstream_received */
  PORTICO_FIGURE_UPSTREAM_RECEIVED,
  /* requests a service's mock instances received, from their control API */
  PORTICO_FIGURE_SERVICE_REQUESTS,
} PorticoFigure;

/* How an upstream_received expectation compares what the service received. */
typedef enum {
  PORTICO_EXPECT_EQUALS = 0, /* the value is exactly @value */
  PORTICO_EXPECT_CONTAINS,   /* the value holds @value */
  PORTICO_EXPECT_PRESENT,    /* the header or field is there, or not (@present) */
} PorticoExpectMatch;

/* One loaded expectation. Bounds apply to the figure's value, or to a
 * ratio when one of @over, @over_traffic and @over_node is set (at most one
 * is): value(variant) / value(over), value(traffic) / value(over_traffic),
 * value(node) / value(over_node). */
typedef struct {
  char *json_path;      /* "expect[3]" */
  char *kind;           /* the key as written: "success_ratio", "ratio", "reloads", ... */
  PorticoFigure figure;
  /* the figure's parameter, when it has one */
  guint status_code;    /* STATUS: 100-599, or 1-5 for a class ("2xx") */
  char *header;         /* HEADER_SEEN: lower-case name; UPSTREAM_RECEIVED: the name as
                         * written (compared in any case), NULL when @field is set */
  char *owner;          /* TIMERS_BY_OWNER_MAX */
  char *service;        /* SERVICE_REQUESTS: the service */
  gint instance;        /* SERVICE_REQUESTS: one instance, or -1 for all of them */
  int error_kind;       /* ERRORS: a PorticoTrafficError, or -1 for every kind */
  double percentile;    /* LATENCY: 50, 90, 99, 99.9 or 100 (the maximum) */
  int tls_side;         /* TLS_HANDSHAKES: a PorticoNodeTlsSide */
  int tls_kind;         /* [CLIENT_]TLS_HANDSHAKES: a PorticoTrafficTlsKind */
  gboolean per_request; /* STATUS, HEADER_SEEN, [CLIENT_]TLS_HANDSHAKES: bounds are on
                         * count / requests (status; handshakes: the client's requests
                         * started, or the requests the nodes served) or count /
                         * completed (header) */
  GStrv phases;         /* PHASES: the expected order */
  /* UPSTREAM_RECEIVED: what is compared (@header or @field), and how */
  char *field;          /* "method", "path", "query" or "http_version"; NULL with @header */
  PorticoExpectMatch match;
  char *value;          /* EQUALS, CONTAINS: the string compared with; else NULL */
  gboolean present;     /* PRESENT: whether the header or field must be there */
  /* selectors, NULL when not given */
  char *variant;        /* check this variant only (default: each variant) */
  char *over;           /* compare with this variant: value(variant) / value(over) */
  char *node;           /* gateway figures: this node only */
  char *traffic;        /* client figures: this traffic entry only (its name);
                         * UPSTREAM_RECEIVED: always set, the first entry when the
                         * file names none (the runner sends one request of it) */
  char *over_traffic;   /* client figures: divide by this traffic entry's, same variant */
  char *over_node;      /* gateway figures: divide by this node's, same variant */
  /* bounds: min <= value <= max */
  gboolean has_min, has_max;
  double min, max;
} PorticoExpect;

/* The names an expectation may refer to (NULL-terminated arrays; an empty
 * variant list means the scenario has none). */
typedef struct {
  const char *const *variants;
  const char *const *nodes;
  const char *const *traffic;
  const char *const *services;
} PorticoExpectNames;

/* Loads the expectation @node at the reader's path ("expect[3]"),
 * recording every error there ("expect[3].status.code: must be ...").
 * NULL when it is wrong. */
PorticoExpect *portico_expect_load (PorticoJsonReader *reader, JsonNode *node,
                                    const PorticoExpectNames *names);
void portico_expect_free (PorticoExpect *expect);

/* Checks @expect against @results. Sets *@text (give it to g_free) to one
 * line saying what was found against what was expected, or what data was
 * missing. An expectation without "variant" holds when it holds for every
 * variant that ran (the text then names each). */
gboolean portico_expect_check (const PorticoExpect *expect, const PorticoResults *results,
                               char **text);

/* The outcome of one expectation, for reports. */
typedef struct {
  const PorticoExpect *expect; /* not owned */
  gboolean ok;
  char *text;
} PorticoExpectOutcome;

/* Checks every PorticoExpect* of @expectations in order; returns the
 * outcomes (PorticoExpectOutcome*, freed with the array) and sets
 * *@all_ok. */
GPtrArray *portico_expect_check_all (GPtrArray *expectations, const PorticoResults *results,
                                     gboolean *all_ok);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (PorticoExpect, portico_expect_free)

G_END_DECLS
