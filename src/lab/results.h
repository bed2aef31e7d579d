/* results.h: what a scenario run measured, the model the runner fills.
 *
 * Per variant: the client-side traffic figures (overall and per traffic
 * entry, with a per-second series), the gateway-side figures per node,
 * one traced request (its phase order and spans), the events applied and
 * the narration said. portico_results_to_json() is the `--json` report.
 * The expectations (expect.h) read it.
 *
 * Unknown figures are -1 for counts and NAN for measures, so that "not
 * collected" and "zero" stay apart; they serialize as null.
 */
#pragma once

#include <glib.h>
#include <json-glib/json-glib.h>

#include "lab/traffic.h"

G_BEGIN_DECLS

/* How many answers carried one status code. */
typedef struct {
  guint code;
  guint64 count;
} PorticoStatusCount;

/* One second of a run (second i covers [i s, i+1 s) from the traffic's start). */
typedef struct {
  guint64 started;
  guint64 completed;
  guint64 errors;       /* requests that ended without a whole answer */
  guint64 status[6];    /* by class: [2] = 2xx ... [5] = 5xx, [0] = others */
  double p50_ms, p99_ms; /* of the requests completed in that second; NAN when none */
} PorticoResultSecond;

/* Client-side figures of one traffic entry, or of all of them ("overall"). */
typedef struct {
  char *name;                /* the traffic entry's name; "overall" for the sum */
  guint64 requests;          /* started */
  guint64 completed;         /* answered whole (any status) */
  GArray *status;            /* PorticoStatusCount, by code, ascending */
  guint64 errors[PORTICO_TRAFFIC_N_ERRORS]; /* by kind: connect, reset, timeout, protocol, tls */
  guint64 connections_opened;
  guint64 tls_handshakes[PORTICO_TRAFFIC_TLS_KINDS]; /* full, resumed, failed; 0 without TLS */
  double duration_s;         /* first start to last completion */
  double rps;                /* completed / duration_s; NAN when unknown */
  double p50_ms, p90_ms, p99_ms, p999_ms, max_ms; /* NAN when nothing completed */
  GHashTable *headers_seen;  /* lower-case header name -> guint64* answers that had it */
  GArray *seconds;           /* PorticoResultSecond, one per second: second i of an entry
                              * counts from the entry's own start; "overall" adds every
                              * entry up on the run's clock (second i is [i s, i+1 s) from
                              * the scenario's start, each entry placed at its whole
                              * starting second) */
} PorticoTrafficFigures;

/* The sides of a node's TLS handshake counters, as its admin API names
 * them ("downstream", "upstream"); their kinds are PorticoTrafficTlsKind. */
typedef enum {
  PORTICO_NODE_TLS_DOWNSTREAM = 0, /* with clients, on TLS listeners */
  PORTICO_NODE_TLS_UPSTREAM,       /* with https services */
  PORTICO_NODE_TLS_SIDES,
} PorticoNodeTlsSide;

const char *portico_node_tls_side_name (PorticoNodeTlsSide side);

/* Gateway-side figures of one node, from its admin API and shared memory,
 * taken at the end of the run (maxima over the samples taken during it).
 * -1 (NAN for loop_lag_max_ms, NULL for timers_by_owner_max): not collected. */
typedef struct {
  char *node;
  gint64 workers_respawned;
  gint64 reloads;
  gint64 reload_failures;
  gint64 timers_pending_max;   /* most timers pending at once, the node's workers together */
  GHashTable *timers_by_owner_max; /* owner -> gint64*: the same, per owner */
  double loop_lag_max_ms;
  gint64 upstream_connects;    /* connections opened to upstream targets */
  gint64 upstream_reuses;      /* requests sent on a pooled connection */
  gint64 upstream_failures;    /* tries to targets that failed: refused, broken, timed out */
  gint64 requests;             /* requests the node's workers served */
  gint64 tls_handshakes[PORTICO_NODE_TLS_SIDES][PORTICO_TRAFFIC_TLS_KINDS]; /* by side and kind */
} PorticoNodeFigures;

/* One span of the traced request: a phase, a module's handler, the
 * upstream exchange or the client's whole request. */
typedef struct {
  char *name;       /* "access", "key-auth", "upstream", "request" */
  char *category;   /* "phase", "module", "upstream", "client" */
  char *node;       /* the node it ran on; NULL on the client side */
  char *phase;      /* a module span: the phase it ran in; else NULL */
  char *result;     /* a module span: "continue", "respond", "yield", "error"; else NULL */
  double start_ms;  /* from the client's start of the traced request */
  double duration_ms;
} PorticoTraceSpan;

/* An event as applied: when, what (portico_scenario_event_describe()),
 * whether it worked, and any detail ("pid 4242", or why it failed). */
typedef struct {
  double at_s;
  char *what;
  gboolean ok;
  char *detail;     /* may be NULL */
} PorticoEventRecord;

/* A narration line as said. */
typedef struct {
  double at_s;
  char *say;
} PorticoNarrationRecord;

/* Everything one variant's run measured. */
typedef struct {
  char *variant;             /* the variant's name; "default" without variants */
  double duration_s;         /* how long the run took */
  PorticoTrafficFigures *overall;
  GPtrArray *traffic;        /* PorticoTrafficFigures*, in the scenario's traffic order */
  GPtrArray *nodes;          /* PorticoNodeFigures*, in the scenario's node order */
  GStrv phases;              /* the traced request's phases in the order they ran;
                              * NULL: no request traced */
  GPtrArray *spans;          /* PorticoTraceSpan* of the traced request, by start */
  double trace_at_s;         /* when the traced request was sent (run clock); NAN: none */
  guint trace_status;        /* its answer's status; 0 when none came */
  char *trace_id;            /* the gateway's id of it ("WORKER-N"); NULL when not recorded */
  GHashTable *upstream_received; /* traffic entry name -> JsonNode*: what the
                              * service received for one request of that entry
                              * (the mock's echo, docs/mock.md); NULL until one */
  GHashTable *service_requests; /* "SERVICE#I" -> gint64*: requests each mock instance
                              * received (its control API, at the end); NULL until one */
  GPtrArray *events;         /* PorticoEventRecord* */
  GPtrArray *narration;      /* PorticoNarrationRecord* */
} PorticoVariantResults;

/* A whole run: every variant, in the order they ran. */
typedef struct {
  char *scenario;
  GPtrArray *variants;       /* PorticoVariantResults* */
} PorticoResults;

/* Empty results of scenario @scenario: no variant yet. */
PorticoResults *portico_results_new (const char *scenario);
void portico_results_free (PorticoResults *results);
/* Appends an empty variant (overall figures all zero, traffic and node
 * lists empty, nothing traced) and returns it; @results owns it. */
PorticoVariantResults *portico_results_add_variant (PorticoResults *results, const char *variant);
/* NULL when no variant of that name ran. */
PorticoVariantResults *portico_results_find_variant (const PorticoResults *results,
                                                     const char *variant);

/* Appends zeroed traffic figures named @name to @v->traffic. */
PorticoTrafficFigures *portico_variant_results_add_traffic (PorticoVariantResults *v,
                                                            const char *name);
/* Appends node figures with every figure unknown (-1 / NAN / NULL). */
PorticoNodeFigures *portico_variant_results_add_node (PorticoVariantResults *v, const char *node);
/* Appends a span, an event applied and a narration line said (copies). */
void portico_variant_results_add_span (PorticoVariantResults *v, const char *name,
                                       const char *category, const char *node, const char *phase,
                                       const char *result, double start_ms, double duration_ms);
/* Keeps @echo (the mock's JSON answer to /echo) as what the service
 * received for traffic entry @traffic; takes ownership of @echo. */
void portico_variant_results_set_received (PorticoVariantResults *v, const char *traffic, JsonNode *echo);
/* Records that instance @instance of @service received @requests requests. */
void portico_variant_results_set_service_requests (PorticoVariantResults *v, const char *service, guint instance,
                                                   gint64 requests);
/* Requests @service received (instance @instance, or all of them when -1);
 * -1 when none of them was counted. */
gint64 portico_variant_results_service_requests (const PorticoVariantResults *v, const char *service, gint instance);
void portico_variant_results_add_event (PorticoVariantResults *v, double at_s, const char *what,
                                        gboolean ok, const char *detail);
void portico_variant_results_add_narration (PorticoVariantResults *v, double at_s,
                                            const char *say);
/* NULL when @v has no traffic entry of that name; "overall" is @v->overall. */
PorticoTrafficFigures *portico_variant_results_find_traffic (const PorticoVariantResults *v,
                                                             const char *name);

/* Adds @count answers with status @code (kept sorted by code). */
void portico_traffic_figures_add_status (PorticoTrafficFigures *f, guint code, guint64 count);
/* Answers with status @code; a code of 1 to 5 counts the class (2 = 2xx). */
guint64 portico_traffic_figures_status (const PorticoTrafficFigures *f, guint code);
/* Adds @count answers that carried header @name (any case). */
void portico_traffic_figures_add_header (PorticoTrafficFigures *f, const char *name,
                                         guint64 count);
/* Requests that ended without a whole answer, every kind together. */
guint64 portico_traffic_figures_errors (const PorticoTrafficFigures *f);
/* Sets the most timers @owner had pending at once (creates the table). */
void portico_node_figures_set_owner_max (PorticoNodeFigures *n, const char *owner, gint64 max);

/* The `--json` report: the results, and when @outcomes is not NULL
 * (PorticoExpectOutcome*, expect.h) the expectations' outcomes and an
 * overall "ok": {"scenario", "variants": [...], "expectations": [...],
 * "ok"} (docs/scenarios.md shows a whole one). */
JsonNode *portico_results_to_json (const PorticoResults *results, GPtrArray *outcomes);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (PorticoResults, portico_results_free)

G_END_DECLS
