/* ip-restriction: allow or deny clients by address or CIDR range (Kong's
 * ip-restriction, priority 990, access phase).
 *
 * The lists are parsed once, in configure, into 128-bit masks; a request
 * costs one inet_pton and a walk over the ranges, with no allocation.
 * Deny wins: an address in both lists is refused.
 */
#include "pdk/portico.h"

#include <gio/gio.h>

#include "ip-restriction-logic.h"

typedef struct {
  GArray *allow; /* IpRestrictionCidr; empty: everyone not denied */
  GArray *deny;
  int status;
  char *message;
} IpRestrictionConf;

static const PorticoSchemaField ip_restriction_schema[] = {
  { .name = "allow", .type = PORTICO_FIELD_STRING_ARRAY,
    .description = "Addresses or CIDR ranges (IPv4, IPv6) let in; when set, every other address is refused." },
  { .name = "deny", .type = PORTICO_FIELD_STRING_ARRAY,
    .description = "Addresses or CIDR ranges refused; they win over allow." },
  { .name = "status", .type = PORTICO_FIELD_INTEGER, .default_json = "403", .min = 100, .max = 599,
    .description = "The status of the refusal." },
  { .name = "message", .type = PORTICO_FIELD_STRING, .default_json = "\"Your IP address is not allowed\"",
    .description = "The refusal's {\"message\": ...}." },
  { NULL },
};

static void
ip_restriction_free_config (gpointer data)
{
  IpRestrictionConf *conf = data;
  if (conf->allow)
    g_array_free (conf->allow, TRUE);
  if (conf->deny)
    g_array_free (conf->deny, TRUE);
  g_free (conf->message);
  g_free (conf);
}

/* The ranges of string-array member @field (absent or null: none). */
static GArray *
ip_restriction_read_list (JsonObject *config, const char *field, GError **error)
{
  JsonNode *node = json_object_get_member (config, field);
  JsonArray *array = node != NULL && JSON_NODE_HOLDS_ARRAY (node) ? json_node_get_array (node) : NULL;
  guint n = array != NULL ? json_array_get_length (array) : 0;
  g_autofree const char **entries = g_new0 (const char *, n + 1);
  for (guint i = 0; i < n; i++)
    entries[i] = json_array_get_string_element (array, i);
  return ip_restriction_parse_list (field, entries, n, error);
}

static gpointer
ip_restriction_configure (JsonObject *config, const PorticoGateway *gateway, GError **error)
{
  IpRestrictionConf *conf = g_new0 (IpRestrictionConf, 1);
  conf->allow = ip_restriction_read_list (config, "allow", error);
  if (conf->allow != NULL)
    conf->deny = ip_restriction_read_list (config, "deny", error);
  if (conf->deny == NULL)
    {
      ip_restriction_free_config (conf);
      return NULL;
    }
  if (conf->allow->len == 0 && conf->deny->len == 0)
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
                   "at least one of these fields must be non-empty: 'allow', 'deny'");
      ip_restriction_free_config (conf);
      return NULL;
    }
  conf->status = (int) json_object_get_int_member (config, "status");
  conf->message = g_strdup (json_object_get_string_member (config, "message"));
  return conf;
}

static PorticoResult
ip_restriction_access (PorticoRequest *r, gpointer data)
{
  const IpRestrictionConf *conf = data;
  const char *ip = portico_request_get_client_ip (r);
  IpRestrictionAddr addr;

  if (ip == NULL || !ip_restriction_parse_addr (ip, &addr))
    {
      portico_response_exit_message (r, 403, "Cannot identify the client IP address");
      return PORTICO_RESPOND;
    }
  if (ip_restriction_list_contains ((const IpRestrictionCidr *) conf->deny->data, conf->deny->len, &addr)
      || (conf->allow->len > 0
          && !ip_restriction_list_contains ((const IpRestrictionCidr *) conf->allow->data, conf->allow->len,
                                            &addr)))
    {
      portico_response_exit_message (r, conf->status, conf->message);
      return PORTICO_RESPOND;
    }
  return PORTICO_CONTINUE;
}

G_MODULE_EXPORT const PorticoModule portico_module = {
  .abi_version = PORTICO_MODULE_ABI_VERSION,
  .name = "ip-restriction",
  .version = "1.0.0",
  .priority = 990,
  .schema = ip_restriction_schema,
  .configure = ip_restriction_configure,
  .free_config = ip_restriction_free_config,
  .access = ip_restriction_access,
};
