/* lab/mock-options.h - the command line of `portico mock`. */
#pragma once

#include <gio/gio.h>

G_BEGIN_DECLS

/** The longest --latency-ms and /delay/MS the mock accepts. */
#define PORTICO_MOCK_DELAY_MAX_MS (10 * 60 * 1000)

/** PORTICO_MOCK_NO_BODY_BYTES: body_bytes when --body-bytes was not given. */
#define PORTICO_MOCK_NO_BODY_BYTES G_MININT64

/**
 * PorticoMockOptions:
 * @listen: the --listen text
 * @address: @listen parsed, a loopback address (port 0: any free port)
 * @status: the default response's status (200-599)
 * @body_bytes: generated body size, or %PORTICO_MOCK_NO_BODY_BYTES
 * @body: the --body text, or %NULL
 * @headers: (nullable): "Name: value" lines, validated
 * @latency_ms: delay before every response
 * @chunked: send the default body chunked
 * @fail_ratio: fraction of requests answered 500 (0 to 1)
 * @close_mid_body: cut the default body in the middle
 * @name: the service's name
 *
 * The options, validated: every field holds a usable value after a
 * successful portico_mock_options_parse().
 */
typedef struct
{
  char *listen;
  GInetSocketAddress *address;
  int status;
  gint64 body_bytes;
  char *body;
  char **headers;
  int latency_ms;
  gboolean chunked;
  double fail_ratio;
  gboolean close_mid_body;
  char *name;
} PorticoMockOptions;

/**
 * portico_mock_options_parse:
 * @opt: zero-filled options to fill
 * @argc: number of arguments
 * @argv: the arguments, @argv[0] being the command name (not modified)
 * @error: return location for a %G_OPTION_ERROR whose message names the
 *   faulty option
 *
 * Returns: whether the arguments are valid
 */
gboolean portico_mock_options_parse (PorticoMockOptions *opt, int argc, char **argv,
                                     GError **error);

void portico_mock_options_clear (PorticoMockOptions *opt);

G_END_DECLS
