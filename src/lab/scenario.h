/* scenario.h: a lab scenario file, loaded and validated.
 *
 * A scenario is a gateway (one node, or several named nodes), the mock
 * services and links around it, traffic, timed events, narration, variants
 * and expectations (docs/scenarios.md is the reference of every key).
 * Loading checks everything and reports every error as "json.path: what
 * was expected", as the gateway config does: unknown keys, types, ranges,
 * enums, and references (a link, event, traffic entry or expectation naming
 * a node, service, consumer, link or variant that does not exist). The
 * embedded gateway configs are validated by the config loader too, after
 * their placeholders ("{{service.NAME}}", "{{node.NAME}}") are replaced by
 * dummy addresses, and its errors come back under "gateway." or
 * "nodes.NAME.". Every variant is applied and loaded as well, and its
 * errors come back as "variants[1] (NAME): path: message".
 *
 * A loaded PorticoScenario is immutable; the runner reads it.
 */
#pragma once

#include <glib.h>
#include <json-glib/json-glib.h>

#include "lab/expect.h"
#include "lab/lab-pki.h"
#include "lab/link.h"

G_BEGIN_DECLS

#define PORTICO_SCENARIO_ERROR (portico_scenario_error_quark ())
GQuark portico_scenario_error_quark (void);

typedef enum {
  PORTICO_SCENARIO_ERROR_INVALID,  /* the file is wrong: the errors say where */
  PORTICO_SCENARIO_ERROR_VARIANT,  /* no such variant, or its "set" cannot apply */
  PORTICO_SCENARIO_ERROR_RESOLVE,  /* a placeholder the caller could not resolve */
} PorticoScenarioError;

/* A party of the infrastructure: what a link joins, what a placeholder names. */
typedef enum {
  PORTICO_PARTY_CONSUMER,
  PORTICO_PARTY_NODE,
  PORTICO_PARTY_SERVICE,
} PorticoPartyKind;

typedef struct {
  char *name;  /* as written */
  char *value;
} PorticoScenarioHeader;

/* A gateway node: "gateway" (named "gateway") or one of "nodes". */
typedef struct {
  char *name;
  char *json_path;   /* "gateway" or "nodes.NAME": where its errors are reported */
  JsonNode *config;  /* the config as written, placeholders kept, with the scenario
                      * defaults filled in: _format_version "1", node.listen
                      * ["127.0.0.1:0"], node.admin_listen "127.0.0.1:0" */
  guint workers;     /* node.workers as loaded (0: one per CPU) */
  gboolean tls;      /* node.tls, the lab's own key (not in @config): the runner
                      * makes the node's listener a TLS one, with the run's certificate */
} PorticoScenarioNode;

/* What a mock service answers (the options of `portico mock`). */
typedef struct {
  guint status;        /* 200-599, default 200 */
  char *body;          /* NULL: the mock's default body, or body_bytes */
  gint64 body_bytes;   /* -1: not set */
  GPtrArray *headers;  /* PorticoScenarioHeader*, added to each answer */
  guint latency_ms;
  gboolean chunked;
  double fail_ratio;   /* 0 to 1: answered 500 */
  gboolean close_mid_body;
} PorticoScenarioMock;

typedef struct {
  char *name;
  PorticoScenarioMock mock;
  guint instances;     /* 1-64, default 1: each one a mock process of its own */
  gboolean tls;        /* serves HTTPS with the run's certificate */
} PorticoScenarioService;

/* What a link does to the bytes that cross it (lab/link.h). */
typedef struct {
  guint latency_ms;       /* one way */
  guint jitter_ms;
  guint bandwidth_kbps;   /* kilobits per second, each direction; 0 = unlimited */
  double reset_ratio;     /* fraction of new connections reset */
  gboolean down;          /* refuses new connections, resets live ones */
} PorticoScenarioLinkProps;

typedef struct {
  char *name;
  PorticoPartyKind from_kind;  /* CONSUMER or NODE */
  char *from;
  PorticoPartyKind to_kind;    /* NODE or SERVICE */
  char *to;
  PorticoScenarioLinkProps props; /* at the start of the run */
} PorticoScenarioLink;

/* A traffic source. */
typedef struct {
  char *name;
  GPtrArray *headers;  /* PorticoScenarioHeader*, sent by each of its requests */
} PorticoScenarioConsumer;

/* One traffic entry, every default filled in. */
typedef struct {
  char *name;          /* as written, or "traffic[I]" */
  char *consumer;      /* NULL: anonymous */
  char *to;            /* the node it is sent to */
  char *method;        /* default "GET" */
  char *path;          /* default "/" */
  GPtrArray *headers;  /* PorticoScenarioHeader*: the consumer's, then the entry's
                        * (an entry's header replaces a consumer's of the same name) */
  GBytes *body;        /* NULL: none */
  guint concurrency;   /* closed loop: connections; 0 when rate is set */
  double rate;         /* open loop: requests per second; 0 when concurrency is set */
  double start_s;      /* from the run's start, default 0 */
  double duration_s;   /* default: the rest of the scenario's duration */
  guint64 count;       /* 0: no limit but the duration */
  gboolean keepalive;  /* default TRUE */
  guint timeout_ms;    /* default 10000 */
  gboolean tls_resume; /* default TRUE: to a TLS node, offer the last session again */
} PorticoScenarioTraffic;

typedef enum {
  PORTICO_SCENARIO_EVENT_KILL_WORKER,
  PORTICO_SCENARIO_EVENT_STOP_NODE,
  PORTICO_SCENARIO_EVENT_START_NODE,
  PORTICO_SCENARIO_EVENT_SERVICE_DOWN,
  PORTICO_SCENARIO_EVENT_SERVICE_UP,
  PORTICO_SCENARIO_EVENT_SERVICE_SLOW,
  PORTICO_SCENARIO_EVENT_LINK,
  PORTICO_SCENARIO_EVENT_RELOAD,
  PORTICO_SCENARIO_EVENT_IDLE_CONNECTIONS,
} PorticoScenarioEventKind;

/* One timed event. Which fields mean something depends on @kind. */
typedef struct {
  double at_s;
  PorticoScenarioEventKind kind;
  char *json_path;        /* "events[3]" */
  char *node;             /* KILL_WORKER, STOP_NODE, START_NODE, RELOAD, IDLE_CONNECTIONS */
  guint worker;           /* KILL_WORKER: the worker's index */
  int signal;             /* KILL_WORKER: SIGKILL (default), SIGTERM, ... */
  gboolean graceful;      /* STOP_NODE: SIGQUIT (drain) rather than SIGTERM */
  char *service;          /* SERVICE_* */
  int instance;           /* SERVICE_*: one instance, or -1 for all */
  guint latency_ms;       /* SERVICE_SLOW */
  char *link;             /* LINK */
  PorticoScenarioLinkProps props; /* LINK: the link's whole props from now on */
  JsonNode *config;       /* RELOAD: the node's whole config from now on (earlier
                           * reloads of the node included), placeholders kept */
  guint count;            /* IDLE_CONNECTIONS */
  char *consumer;         /* IDLE_CONNECTIONS: opened as this consumer (links), or NULL */
} PorticoScenarioEvent;

typedef struct {
  double at_s;
  char *say;
} PorticoScenarioNarration;

typedef struct {
  char *name;
  JsonNode *set;  /* an object: "path.in[0].the.scenario" -> value */
} PorticoScenarioVariant;

typedef struct {
  char *source;         /* the file name, or "<embedded>" */
  char *variant;        /* NULL, or the variant applied (portico_scenario_load_variant) */
  char *name;
  char *teaches;
  char *description;    /* NULL when none */
  double duration_s;
  GPtrArray *nodes;     /* PorticoScenarioNode*, in the file's order */
  GPtrArray *services;  /* PorticoScenarioService* */
  GPtrArray *consumers; /* PorticoScenarioConsumer*, declared or named by traffic */
  GPtrArray *links;     /* PorticoScenarioLink* */
  GPtrArray *traffic;   /* PorticoScenarioTraffic* */
  GPtrArray *events;    /* PorticoScenarioEvent*, in time order */
  GPtrArray *narration; /* PorticoScenarioNarration*, in time order */
  GPtrArray *variants;  /* PorticoScenarioVariant* */
  GPtrArray *expect;    /* PorticoExpect* */
  GStrv count_headers;  /* header names the traffic must count (from header_seen) */
  JsonNode *root;       /* the document as written */
} PorticoScenario;

/* Parse and validate. On failure returns NULL; each error found is
 * appended to @errors ("path: message", or "line:col: message" for JSON
 * syntax; newly allocated, give @errors g_free as its free function) and
 * @error summarizes ("FILE: 3 errors"), as portico_config_load_file() does:
 * print them as "FILE: path: message". @errors may be NULL. */
PorticoScenario *portico_scenario_load_file (const char *path, GPtrArray *errors, GError **error);
PorticoScenario *portico_scenario_load_data (const char *data, gssize len, const char *source,
                                             GPtrArray *errors, GError **error);
void portico_scenario_free (PorticoScenario *scenario);

/* ---- variants ---- */

/* A copy of the scenario's document with the "set" of variant @variant
 * applied (give it to json_node_unref). NULL with
 * PORTICO_SCENARIO_ERROR_VARIANT when there is no such variant or one of
 * its paths does not exist: 'variant "blocking": "gateway.plugins[3].name":
 * gateway.plugins has no element 3'. */
JsonNode *portico_scenario_variant_json (const PorticoScenario *scenario, const char *variant,
                                         GError **error);
/* That document, loaded: the scenario to run for @variant (its "variant"
 * field set; variants and expectations kept). Errors as for
 * portico_scenario_load_data(). */
PorticoScenario *portico_scenario_load_variant (const PorticoScenario *scenario,
                                                const char *variant, GPtrArray *errors,
                                                GError **error);
/* The names of the runs, in order: each variant's, or "default" alone when
 * the scenario has none (free with g_strfreev). */
GStrv portico_scenario_run_names (const PorticoScenario *scenario);

/* ---- lookups ---- */

/* The entity of that name, or NULL (owned by the scenario). */
PorticoScenarioNode *portico_scenario_find_node (const PorticoScenario *scenario, const char *name);
PorticoScenarioService *portico_scenario_find_service (const PorticoScenario *scenario,
                                                       const char *name);
PorticoScenarioConsumer *portico_scenario_find_consumer (const PorticoScenario *scenario,
                                                         const char *name);
PorticoScenarioLink *portico_scenario_find_link (const PorticoScenario *scenario, const char *name);
/* The link between two parties, or NULL: traffic of consumer C to node N
 * goes through the link from consumer:C to node:N; node N reaches service
 * S (every instance) or node M through the link from node:N. */
PorticoScenarioLink *portico_scenario_link_between (const PorticoScenario *scenario,
                                                    PorticoPartyKind from_kind, const char *from,
                                                    PorticoPartyKind to_kind, const char *to);

/* ---- what the runner needs ---- */

/* Returns the address ("127.0.0.1:PORT", newly allocated) that node
 * @from_node must use to reach @name: a service instance (@instance) or a
 * node (@instance 0). NULL with @error when it cannot. */
typedef char *(*PorticoScenarioResolveFunc) (const char *from_node, PorticoPartyKind kind,
                                             const char *name, guint instance, gpointer data,
                                             GError **error);

/* The config of @node as JSON text for `portico serve -c`: @config (NULL:
 * the node's own; else an event's, for a reload) with every placeholder
 * replaced by what @resolve returns. */
char *portico_scenario_render_config (const PorticoScenario *scenario,
                                      const PorticoScenarioNode *node, JsonNode *config,
                                      PorticoScenarioResolveFunc resolve, gpointer data,
                                      GError **error);

/* Whether a node or a service of @scenario speaks TLS: the run needs
 * certificates (lab/lab-pki.h). */
gboolean portico_scenario_uses_tls (const PorticoScenario *scenario);

/* @config (a node's, placeholders kept; not changed) with the lab's TLS
 * applied, as a new node: when @node is tls, the run's certificate from
 * @pki ("portico-lab") added to "certificates" and made the node's
 * ssl_default_certificate unless it names one (the runner makes the
 * listener); and each of its services that reaches a TLS party by a
 * placeholder (its url's host, or a target of the upstream its host names,
 * being a tls mock service or node) made https ("http://" becomes
 * "https://"; a service without url gets "protocol": "https"), trusting
 * @pki's CA unless it has ca_certificates or tls_verify false. */
JsonNode *portico_scenario_config_tls (const PorticoScenario *scenario, const PorticoScenarioNode *node,
                                       JsonNode *config, const PorticoLabPki *pki);

/* The arguments of `portico mock` (after "mock") for instance @instance
 * of @service: --listen 127.0.0.1:0, --name NAME (NAME.I when there are
 * several instances), and an option for each mock key set. */
GStrv portico_scenario_mock_argv (const PorticoScenarioService *service, guint instance);

/* The link's props in lab/link.h's units (bandwidth in bytes per second). */
void portico_scenario_link_props_to_link (const PorticoScenarioLinkProps *props,
                                          PorticoLinkProps *out);

/* "kill_worker", "service_slow", ... */
const char *portico_scenario_event_kind_name (PorticoScenarioEventKind kind);
/* One line for reports and the live view: "kill worker 0 of gateway (KILL)",
 * "slow service orders to 200 ms", "link atlantic: latency 80 ms". */
char *portico_scenario_event_describe (const PorticoScenarioEvent *event);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (PorticoScenario, portico_scenario_free)

G_END_DECLS
