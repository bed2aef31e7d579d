/* cli/top.h - `portico top`: the dashboard in a terminal (docs/dashboard.md).
 */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

/**
 * portico_top_main:
 * @argc: number of arguments
 * @argv: the arguments, @argv[0] being "top"
 *
 * Runs `portico top [ADMIN_ADDR] [--token TOKEN] [--interval SECONDS]`:
 * reads GET /dashboard/snapshot from the admin API every interval and draws
 * it in place (cli/top-draw.h) until `q`, Ctrl-C, SIGINT, SIGTERM or
 * SIGHUP, restoring the terminal however it ends.  When stdout is not a
 * terminal, prints one frame as plain text and returns.
 *
 * Returns: the exit status: 0; 1 when stdout is not a terminal and no
 * frame could be read; 2 for bad arguments
 */
int portico_top_main (int argc, char **argv);

G_END_DECLS
