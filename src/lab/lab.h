/* lab/lab.h - the lab: mock upstream services and scenario tooling.
 *
 * Everything here runs on libsoup and serves loopback peers only; none of it
 * is on the data path.
 */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

/**
 * PORTICO_MOCK_PATTERN:
 *
 * The 64 bytes that `portico mock` repeats for generated bodies
 * (`--body-bytes N`, `/bytes/N`): byte i of such a body is
 * `PORTICO_MOCK_PATTERN[i % 64]`, so a reader can check any slice.
 */
#define PORTICO_MOCK_PATTERN \
  "0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ-\n"
#define PORTICO_MOCK_PATTERN_LEN 64

/**
 * portico_mock_main:
 * @argc: number of arguments
 * @argv: the arguments, @argv[0] being "mock"
 *
 * Runs `portico mock`: a mock upstream HTTP service on a loopback address,
 * with a control API (GET/POST /state) that changes it while it runs: down
 * and up on the same port, latency, status, failure ratio, body
 * (docs/mock.md).  Prints `listening ADDR` then `control ADDR` on stdout
 * once both accept, then serves until SIGTERM or SIGINT.
 *
 * Returns: the process exit status (0 after a signal, 1 when it cannot
 * listen, 2 for bad arguments).
 */
int portico_mock_main (int argc, char **argv);

G_END_DECLS
