/* tests/integration/harness.h - processes, raw clients and raw upstreams for
 * the integration tests (harness-proc.c, harness-client.c, harness-server.c).
 *
 * Plain blocking code: every call that waits has a bound and reports failure
 * by returning NULL / -1 / FALSE (with a g_test_message saying why) or a
 * GError, so a test fails with a message instead of hanging.  Not thread-safe
 * unless said otherwise; the raw server runs on its own thread.
 */
#pragma once

#include <glib.h>
#include <gio/gio.h>

G_BEGIN_DECLS

/** How long a spawned process may take to print its first "listening" line. */
#define PORTICO_TEST_LISTEN_TIMEOUT_MS 10000
/** The default bound for one request/response exchange. */
#define PORTICO_TEST_IO_TIMEOUT_MS 10000

/* ------------------------------------------------------------------------ */
/* Processes */

/**
 * PorticoProc:
 *
 * A child process (the gateway, a mock) whose stdout is read on a thread:
 * every line is kept, and each line "listening ADDR" adds ADDR to the
 * process's addresses, in order.  Its stderr goes to the test's stderr.
 * It is killed if the test process dies.
 */
typedef struct _PorticoProc PorticoProc;

/**
 * portico_proc_spawn:
 * @argv: the program and its arguments
 * @error: return location for an error
 *
 * Starts @argv and waits (up to %PORTICO_TEST_LISTEN_TIMEOUT_MS) for its
 * first "listening " line.  If the process exits or stays silent, it is
 * stopped and %NULL is returned with @error saying which.
 */
PorticoProc *portico_proc_spawn (const char *const *argv, GError **error);

/**
 * portico_proc_address:
 * @proc: a process
 * @index: 0 for the first "listening" line, 1 for the second, ...
 *
 * Waits up to %PORTICO_TEST_LISTEN_TIMEOUT_MS for that line if it has not
 * been printed yet.
 *
 * Returns: (nullable): "127.0.0.1:PORT", owned by @proc, or %NULL
 */
const char *portico_proc_address (PorticoProc *proc, guint index);

/** The number of "listening" lines seen so far. */
guint portico_proc_n_addresses (PorticoProc *proc);

/**
 * portico_proc_wait_line:
 * @proc: a process
 * @prefix: what the line starts with
 * @timeout_ms: how long to wait
 *
 * Returns: (transfer full) (nullable): the first stdout line (seen so far or
 * within @timeout_ms) that starts with @prefix, or %NULL
 */
char *portico_proc_wait_line (PorticoProc *proc, const char *prefix, int timeout_ms);

GPid portico_proc_pid (PorticoProc *proc);

/** Sends @signum to the process (if it is still running). */
void portico_proc_signal (PorticoProc *proc, int signum);

/**
 * portico_proc_wait:
 * @proc: a process
 * @timeout_ms: how long to wait for it to exit
 *
 * Returns: the exit status, shell style (the exit code, or 128 + the signal
 * number), or -1 if it is still running after @timeout_ms
 */
int portico_proc_wait (PorticoProc *proc, int timeout_ms);

/**
 * portico_proc_stop:
 * @proc: a process
 *
 * Sends SIGTERM, waits up to 5 s, then sends SIGKILL.  Calling it again
 * returns the same status.
 *
 * Returns: the exit status, shell style (0 for a clean exit; 137 when it
 * had to be killed)
 */
int portico_proc_stop (PorticoProc *proc);

/** Stops the process if needed and frees everything, temporary files too. */
void portico_proc_free (PorticoProc *proc);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (PorticoProc, portico_proc_free)

/**
 * portico_test_binary:
 *
 * Returns: the `portico` binary under test, from $PORTICO_BIN (which
 * tests/meson.build sets); the test aborts if it is not set
 */
const char *portico_test_binary (void);

/**
 * portico_mock_spawn:
 * @first_arg: (nullable): the first extra argument of `portico mock`
 * @...: more arguments, then %NULL (so `portico_mock_spawn (NULL)` for none)
 *
 * Runs `$PORTICO_BIN mock --listen 127.0.0.1:0 ARGS...`.  Fails the test if
 * the mock does not start.
 */
PorticoProc *portico_mock_spawn (const char *first_arg, ...);

/**
 * portico_gateway_spawn:
 * @config_json: the configuration
 * @error: return location for an error
 *
 * Writes @config_json to a temporary file (removed by portico_proc_free())
 * and runs `$PORTICO_BIN serve -c FILE`.
 */
PorticoProc *portico_gateway_spawn (const char *config_json, GError **error);

/**
 * portico_gateway_spawn_with:
 * @config_json: the configuration, with placeholder tokens
 * @...: pairs of (token, replacement) strings, then %NULL, then a
 *   `GError **` (which may be %NULL)
 *
 * Like portico_gateway_spawn() after replacing every occurrence of each
 * token, e.g. `portico_gateway_spawn_with (json, "@UPSTREAM@", addr, NULL,
 * &error)`.
 */
PorticoProc *portico_gateway_spawn_with (const char *config_json, ...);

/**
 * portico_run_sync:
 * @argv: the program and its arguments
 * @timeout_ms: how long it may run
 * @out_stdout: (out) (optional): its stdout
 * @out_stderr: (out) (optional): its stderr
 * @error: return location for an error
 *
 * Runs a command to completion (e.g. `portico check`, bad arguments).
 *
 * Returns: the exit status, shell style, or -1 with @error set if it could
 * not start or had to be killed after @timeout_ms
 */
int portico_run_sync (const char *const *argv, int timeout_ms,
                      char **out_stdout, char **out_stderr, GError **error);

/* ------------------------------------------------------------------------ */
/* Raw client: exact bytes on a plain socket */

/**
 * portico_test_connect:
 * @addr: "IP:PORT" (IPv6 as "[::1]:PORT")
 *
 * A blocking TCP connection with 5 s send and receive timeouts.
 *
 * Returns: the fd, or -1 (with a test message)
 */
int portico_test_connect (const char *addr);

/**
 * portico_test_free_port:
 *
 * A loopback port bound and released at once: free a moment later, and
 * refused until something listens on it.
 *
 * Returns: the port
 */
guint portico_test_free_port (void);

/** Sends all of @data (@len < 0: strlen). Returns FALSE on error. */
gboolean portico_test_send_all (int fd, const void *data, gssize len);

typedef struct
{
  char *name;
  char *value;
} PorticoTestHeader;

/**
 * PorticoTestResponse:
 * @status: the status code
 * @reason: the reason phrase
 * @minor_version: 1 for HTTP/1.1, 0 for HTTP/1.0
 * @headers: (element-type PorticoTestHeader): the header fields in order
 * @trailers: (element-type PorticoTestHeader): chunked trailer fields
 * @body: the body (decoded from chunks), %NULL when discarded
 * @body_length: the body's length, also when discarded
 * @body_sha256: the body's SHA-256, lowercase hex
 * @chunked: whether the body came chunked
 * @n_chunks: how many data chunks it came in
 * @complete: whether the body ended where its framing said (always TRUE
 *   for a body delimited by the connection closing)
 * @closed: whether the peer closed the connection at or before the end of
 *   this response (known for close-delimited and cut-short bodies only; use
 *   portico_test_is_closed() to check after a framed response)
 * @raw_head: the status line and headers exactly as received
 *
 * One HTTP/1.x response.
 */
typedef struct
{
  int status;
  char *reason;
  int minor_version;
  GPtrArray *headers;
  GPtrArray *trailers;
  GBytes *body;
  guint64 body_length;
  char *body_sha256;
  gboolean chunked;
  guint n_chunks;
  gboolean complete;
  gboolean closed;
  GString *raw_head;
} PorticoTestResponse;

typedef enum
{
  PORTICO_TEST_READ_DEFAULT = 0,
  PORTICO_TEST_READ_HEAD_REQUEST = 1 << 0,  /* the request was HEAD: no body */
  PORTICO_TEST_READ_DISCARD_BODY = 1 << 1,  /* count and hash the body, keep nothing */
} PorticoTestReadFlags;

/**
 * portico_test_read_response:
 * @fd: a connected socket
 * @head_request: whether the request was HEAD (the response has no body)
 * @timeout_ms: the bound for the whole response
 *
 * Reads exactly one response and nothing after it (a pipelined next
 * response stays in the socket).  A 1xx response is returned as is: read
 * again for the final one.
 *
 * Returns: (nullable): the response, or %NULL if no complete, well-formed
 * head arrived in time (with a test message saying why)
 */
PorticoTestResponse *portico_test_read_response (int fd, gboolean head_request, int timeout_ms);

/** portico_test_read_response() with #PorticoTestReadFlags. */
PorticoTestResponse *portico_test_read_response_flags (int fd, PorticoTestReadFlags flags,
                                                       int timeout_ms);

/** The value of the first header named @name (any case), or %NULL. */
const char *portico_test_response_header (const PorticoTestResponse *resp, const char *name);

/** How many header fields are named @name (any case). */
guint portico_test_response_header_count (const PorticoTestResponse *resp, const char *name);

/** The body as a NUL-terminated string (empty when there is none). */
char *portico_test_response_body_string (const PorticoTestResponse *resp);

void portico_test_response_free (PorticoTestResponse *resp);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (PorticoTestResponse, portico_test_response_free)

/**
 * portico_test_request:
 * @addr: "IP:PORT"
 * @request: the request bytes, e.g. "GET /x HTTP/1.1\r\nHost: a\r\n\r\n"
 *
 * Connects, sends @request, reads one response (without a body if the
 * request starts with "HEAD "), closes.
 *
 * Returns: (nullable): the response, or %NULL
 */
PorticoTestResponse *portico_test_request (const char *addr, const char *request);

/**
 * portico_test_read_until_close:
 * @fd: a connected socket
 * @timeout_ms: how long to wait for the end
 *
 * Returns: (nullable): everything received until the peer closed, or %NULL
 * if it did not close in time
 */
GBytes *portico_test_read_until_close (int fd, int timeout_ms);

/**
 * portico_test_is_closed:
 * @fd: a connected socket
 * @timeout_ms: how long to wait for the close
 *
 * Returns: %TRUE if the peer closed (or reset) the connection within
 * @timeout_ms with no data pending before the close; %FALSE if data is
 * pending or it is still open
 */
gboolean portico_test_is_closed (int fd, int timeout_ms);

/* ------------------------------------------------------------------------ */
/* Raw upstream: answers with fixed bytes, for responses no real server sends,
 * or records every byte it is sent */

typedef struct _PorticoRawServer PorticoRawServer;

/**
 * portico_raw_server_new:
 * @response: the bytes to send, verbatim
 * @close_after: close after sending (else keep the connection open, silent,
 *   until the server is freed)
 *
 * Listens on 127.0.0.1:0 and, on a thread, for each connection: reads a
 * request head (up to 5 s), writes @response, then closes or keeps it open.
 */
PorticoRawServer *portico_raw_server_new (const char *response, gboolean close_after);

/** Like portico_raw_server_new() with bytes that may hold NULs. */
PorticoRawServer *portico_raw_server_new_bytes (const void *response, gsize len,
                                                gboolean close_after);

/**
 * portico_raw_server_new_recorder:
 *
 * Listens on 127.0.0.1:0 and, on a thread, for each connection: keeps every
 * byte it is sent and never answers; closes once the peer has closed (or
 * after 5 s).  For requests that may go upstream in part before the
 * gateway finds them bad.
 */
PorticoRawServer *portico_raw_server_new_recorder (void);

/** "127.0.0.1:PORT" */
const char *portico_raw_server_address (PorticoRawServer *server);

/** Connections accepted so far (thread-safe). */
guint portico_raw_server_connections (PorticoRawServer *server);

/**
 * portico_raw_server_counts:
 * @server: a raw server
 * @accepted: (out): connections accepted so far
 * @closed_by_peer: (out): those of them a recorder saw the peer close
 *
 * Reads both counts at one instant (thread-safe).
 */
void portico_raw_server_counts (PorticoRawServer *server, guint *accepted, guint *closed_by_peer);

/** The last request head received, or %NULL (thread-safe). */
char *portico_raw_server_last_request (PorticoRawServer *server);

/**
 * portico_raw_server_received_bytes:
 * @server: a raw server
 *
 * Returns: what was read from the last connection so far: its request head,
 * or everything for a recorder (thread-safe)
 */
GBytes *portico_raw_server_received_bytes (PorticoRawServer *server);

/**
 * portico_raw_server_wait_head:
 * @server: a raw server
 * @before: a count of accepted connections
 * @timeout_ms: how long to wait
 *
 * Returns: whether, within @timeout_ms, a connection accepted after the
 * first @before sent a whole request head (thread-safe)
 */
gboolean portico_raw_server_wait_head (PorticoRawServer *server, guint before, int timeout_ms);

void portico_raw_server_free (PorticoRawServer *server);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (PorticoRawServer, portico_raw_server_free)

G_END_DECLS
