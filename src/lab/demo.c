/* demo.c: `portico run` without a scenario: a real mock upstream, a real
 * gateway in front of it, and requests through both, shown as they go.
 * (The scenario runner will take this command over and run the tour.) */
#include "lab/demo.h"

#include <gio/gio.h>
#include <json-glib/json-glib.h>
#include <stdio.h>
#include <string.h>
#include <glib/gstdio.h>
#include <unistd.h>

static const char demo_config[] =
  "{\n"
  "  \"_format_version\": \"1\",\n"
  "  \"node\": { \"listen\": [\"127.0.0.1:0\"], \"admin_listen\": \"off\", \"workers\": 1 },\n"
  "  \"services\": [ {\n"
  "    \"name\": \"demo\", \"url\": \"http://%s\",\n"
  "    \"routes\": [ { \"name\": \"demo\", \"paths\": [\"/demo\"] } ]\n"
  "  } ]\n"
  "}\n";

typedef struct {
  GSubprocess *proc;
  GDataInputStream *out;
  char *address;
} Child;

static gboolean
child_start (Child *child, const char *const *argv, GError **error)
{
  child->proc = g_subprocess_newv (argv, G_SUBPROCESS_FLAGS_STDOUT_PIPE, error);
  if (child->proc == NULL)
    return FALSE;
  child->out = g_data_input_stream_new (g_subprocess_get_stdout_pipe (child->proc));
  /* The child says "listening ADDR" once it accepts; it exits if it cannot. */
  for (;;)
    {
      g_autofree char *line = g_data_input_stream_read_line_utf8 (child->out, NULL, NULL, error);
      if (line == NULL)
        {
          if (error != NULL && *error == NULL)
            g_set_error (error, G_IO_ERROR, G_IO_ERROR_FAILED, "%s exited before listening", argv[1]);
          return FALSE;
        }
      if (g_str_has_prefix (line, "listening "))
        {
          child->address = g_strdup (line + strlen ("listening "));
          return TRUE;
        }
    }
}

static void
child_stop (Child *child)
{
  if (child->proc != NULL)
    {
      g_subprocess_send_signal (child->proc, SIGTERM);
      g_subprocess_wait (child->proc, NULL, NULL);
    }
  g_clear_object (&child->out);
  g_clear_object (&child->proc);
  g_clear_pointer (&child->address, g_free);
}

/* One request on its own connection ("Connection: close"), read to EOF. */
static char *
exchange (const char *address, const char *request, GError **error)
{
  g_autoptr (GSocketClient) client = g_socket_client_new ();
  g_socket_client_set_timeout (client, 10);
  g_autoptr (GSocketConnection) conn = g_socket_client_connect_to_host (client, address, 0, NULL, error);
  if (conn == NULL)
    return NULL;
  GOutputStream *os = g_io_stream_get_output_stream (G_IO_STREAM (conn));
  if (!g_output_stream_write_all (os, request, strlen (request), NULL, NULL, error))
    return NULL;
  GInputStream *is = g_io_stream_get_input_stream (G_IO_STREAM (conn));
  GString *response = g_string_new (NULL);
  char buf[4096];
  gssize n;
  while ((n = g_input_stream_read (is, buf, sizeof buf, NULL, error)) > 0)
    g_string_append_len (response, buf, n);
  if (n < 0)
    {
      g_string_free (response, TRUE);
      return NULL;
    }
  return g_string_free (response, FALSE);
}

static void
show (const char *title, const char *address, const char *request)
{
  g_autoptr (GError) error = NULL;
  printf ("\n== %s\n-- request to the gateway (%s):\n%s", title, address, request);
  g_autofree char *response = exchange (address, request, &error);
  if (response == NULL)
    {
      printf ("-- failed: %s\n", error->message);
      return;
    }
  /* A JSON body is easier to read indented (the echo lists every field). */
  char *body = strstr (response, "\r\n\r\n");
  g_autoptr (JsonParser) parser = json_parser_new ();
  if (body != NULL && json_parser_load_from_data (parser, body + 4, -1, NULL))
    {
      body[4] = '\0';
      g_autoptr (JsonGenerator) gen = json_generator_new ();
      json_generator_set_pretty (gen, TRUE);
      json_generator_set_root (gen, json_parser_get_root (parser));
      g_autofree char *pretty = json_generator_to_data (gen, NULL);
      printf ("-- response from the gateway:\n%s%s\n", response, pretty);
      return;
    }
  printf ("-- response from the gateway:\n%s\n", response);
}

int
portico_demo_main (int argc, char **argv)
{
  g_autoptr (GError) error = NULL;
  g_autofree char *self = g_file_read_link ("/proc/self/exe", &error);
  if (self == NULL)
    {
      g_printerr ("portico run: %s\n", error->message);
      return 1;
    }
  Child mock = { 0 }, gateway = { 0 };
  int status = 1;
  g_autofree char *config_path = NULL;
  g_autofree char *config = NULL, *req1 = NULL, *req2 = NULL;

  const char *mock_argv[] = { self, "mock", "--listen", "127.0.0.1:0", "--name", "demo-upstream", NULL };
  if (!child_start (&mock, mock_argv, &error))
    goto out;
  printf ("mock upstream 'demo-upstream' listening on %s\n", mock.address);

  int fd = g_file_open_tmp ("portico-demo-XXXXXX.json", &config_path, &error);
  if (fd < 0)
    goto out;
  config = g_strdup_printf (demo_config, mock.address);
  close (fd);
  if (!g_file_set_contents (config_path, config, -1, &error))
    goto out;
  printf ("gateway configuration (%s):\n%s", config_path, config);

  const char *gw_argv[] = { self, "serve", "-c", config_path, NULL };
  if (!child_start (&gateway, gw_argv, &error))
    goto out;
  printf ("gateway listening on %s\n", gateway.address);

  req1 = g_strdup_printf ("GET /demo/echo/hello?lang=en HTTP/1.1\r\n"
                                           "Host: %s\r\nUser-Agent: portico-run\r\n"
                                           "Connection: close\r\n\r\n", gateway.address);
  show ("a proxied request: the upstream echoes what it received (see the X-Forwarded-* fields)",
        gateway.address, req1);
  req2 = g_strdup_printf ("GET /nowhere HTTP/1.1\r\nHost: %s\r\n"
                                           "Connection: close\r\n\r\n", gateway.address);
  show ("no route matches: the gateway answers itself", gateway.address, req2);
  status = 0;

out:
  if (error != NULL)
    g_printerr ("portico run: %s\n", error->message);
  child_stop (&gateway);
  child_stop (&mock);
  if (config_path != NULL)
    g_unlink (config_path);
  return status;
}
