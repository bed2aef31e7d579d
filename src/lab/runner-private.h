/* runner-private.h: what the files of the runner share: runner.c brings a
 * variant up, runs its clock and stops it, runner-events.c applies its
 * timed events and narration, runner-collect.c gathers what it measured
 * once the traffic ends. Not for other users: runner.h is the API.
 */
#pragma once

#include <libsoup/soup.h>

#include "lab/lab-proc.h"
#include "lab/node-sampler.h"
#include "lab/runner.h"
#include "lab/traffic.h"

G_BEGIN_DECLS

/* One mock service instance. */
typedef struct {
  PorticoLabProc *proc;
  char *address; /* "127.0.0.1:PORT" */
  char *control;
} RunMock;

/* One relay of a link, towards one target. */
typedef struct {
  const PorticoScenarioLink *link;
  char *target_key; /* "service:NAME#I" or "node:NAME" */
  PorticoLink *relay;
} RunLink;

/* One gateway node. */
typedef struct {
  const PorticoScenarioNode *node;
  char *listen;      /* "127.0.0.1:PORT", fixed for the run */
  char *admin;
  char *config_path;
  char *trace_token; /* what its requests carry to be traced */
  PorticoLabProc *proc;
  PorticoNodeSampler *sampler;
} RunNode;

/* One traffic entry. */
typedef struct {
  const PorticoScenarioTraffic *spec;
  PorticoTraffic *traffic;
  guint start_timer;
  gboolean done;
} RunTraffic;

/* One variant's run: what it started, and its clock. */
typedef struct {
  const PorticoScenario *sc;
  const PorticoRunOptions *options;
  PorticoVariantResults *out;
  PorticoLoop *loop;
  GMainLoop *main_loop;
  SoupSession *session;
  char *dir;
  PorticoLabPki *pki;            /* NULL: no TLS in the scenario */
  PorticoTlsClient *tls_client;  /* the traffic's, trusting the run's CA */
  GHashTable *mocks;   /* "NAME#I" -> RunMock* */
  GPtrArray *links;    /* RunLink* */
  GPtrArray *nodes;    /* RunNode*, the scenario's order */
  GPtrArray *traffic;  /* RunTraffic* */
  GArray *timers;      /* guint source ids of events and narration */
  GArray *idle_fds;    /* int */
  gint64 start_us;
  guint traffic_left;
  gboolean time_up;
  guint progress_timer;
} Run;

/* ---- runner.c ---- */

/* Seconds on the scenario's clock. */
double portico_runner_elapsed (Run *run);
/* One line of the run's log, stamped with its time; nothing when quiet. */
void portico_runner_say (Run *run, const char *fmt, ...) G_GNUC_PRINTF (2, 3);
/* The node named @name, or NULL. */
RunNode *portico_runner_find_node (Run *run, const char *name);
/* Where a traffic entry's requests go: its node, or the link in front. */
const char *portico_runner_traffic_address (Run *run, const PorticoScenarioTraffic *spec, GError **error);
/* @n's config (@config, or its own when NULL) as written for this run. */
char *portico_runner_node_config_text (Run *run, RunNode *n, JsonNode *config, GError **error);
/* Starts @n from its config file and waits for its admin API. */
gboolean portico_runner_node_spawn (Run *run, RunNode *n, GError **error);

/* ---- runner-events.c ---- */

/* Calls @func with @item (an event, a narration line) @at_s into the run. */
void portico_runner_schedule (Run *run, double at_s, GSourceFunc func, gconstpointer item);
/* The GSourceFuncs portico_runner_schedule() takes: one event, one narration line. */
gboolean portico_runner_apply_event (gpointer data);
gboolean portico_runner_say_narration (gpointer data);

/* ---- runner-collect.c ---- */

/* The traffic's and the nodes' figures, into the variant's results. */
void portico_runner_collect (Run *run);
/* What each mock instance received; read before the probes, which the mocks count. */
void portico_runner_collect_service_requests (Run *run);
/* One traced request: the phase order and the spans. */
void portico_runner_trace_one_request (Run *run);
/* The mock's echo of one request of each entry an expectation asks about. */
void portico_runner_probe_echoes (Run *run);

G_END_DECLS
