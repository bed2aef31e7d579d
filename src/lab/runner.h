/* runner.h: `portico run`: a scenario brought to life.
 *
 * For each variant of a scenario (or once, without variants) the runner
 * starts the mock services, the links and the gateway nodes as real
 * processes and relays on loopback, drives the traffic with the lab's own
 * client, applies the timed events, says the narration when the run
 * reaches it, samples each node's admin API, and stops everything. Then it
 * checks the expectations against what was measured, prints a report, and
 * exits 0 only when every expectation holds. Nothing it started outlives
 * it: children die with it (PR_SET_PDEATHSIG) and Ctrl-C stops them.
 */
#pragma once

#include <glib.h>

#include "lab/results.h"
#include "lab/scenario.h"

G_BEGIN_DECLS

typedef struct {
  gboolean quiet;     /* no narration, events or progress line while running */
  gboolean progress;  /* the live progress line (on a terminal) */
  /* `--dashboard`: the first node's admin listens on 127.0.0.1:this port
   * in every variant, so a dashboard open in a browser follows the run
   * (the page reconnects to each variant's node); 0: a free port. */
  guint dashboard_port;
} PorticoRunOptions;

/* Runs every variant of @scenario into @results. FALSE with @error when
 * the infrastructure could not start (a node refusing its config, a mock
 * not starting); a run that merely fails its expectations returns TRUE. */
gboolean portico_runner_run (const PorticoScenario *scenario, const PorticoRunOptions *options,
                             PorticoResults *results, GError **error);

/* `portico run [FILE...] [--list] [--json FILE]`. */
int portico_run_main (int argc, char **argv);

G_END_DECLS
