/* harness-pki.c: certificates made at test time with the `openssl` command. */
#include <glib/gstdio.h>

#include "harness.h"
#include "harness-pki.h"

struct _PorticoTestPki {
  char *dir;
};

char *
portico_test_pki_path (PorticoTestPki *pki, const char *name)
{
  return g_build_filename (pki->dir, name, NULL);
}

static void
openssl (const char *const *args)
{
  g_autoptr (GPtrArray) argv = g_ptr_array_new ();
  g_autoptr (GError) error = NULL;
  g_autofree char *err = NULL;

  g_ptr_array_add (argv, "openssl");
  for (guint i = 0; args[i]; i++)
    g_ptr_array_add (argv, (gpointer) args[i]);
  g_ptr_array_add (argv, NULL);
  int status = portico_run_sync ((const char *const *) argv->pdata, 30000, NULL, &err, &error);
  g_assert_no_error (error);
  if (status != 0)
    g_error ("openssl %s: %s", args[0], err);
}

void
portico_test_pki_make_cert (PorticoTestPki *pki, const char *name, const char *cn, const char *san,
                            gboolean self_signed, gboolean expired)
{
  g_autofree char *key = g_strdup_printf ("%s/%s.key", pki->dir, name);
  g_autofree char *pem = g_strdup_printf ("%s/%s.pem", pki->dir, name);
  g_autofree char *csr = g_strdup_printf ("%s/%s.csr", pki->dir, name);
  g_autofree char *subject = g_strdup_printf ("/CN=%s", cn);
  g_autofree char *ext = san ? g_strdup_printf ("subjectAltName=%s", san) : NULL;
  g_autofree char *cnf = portico_test_pki_path (pki, "ca.cnf");
  g_autofree char *ca = portico_test_pki_path (pki, "ca.pem");
  g_autofree char *ca_key = portico_test_pki_path (pki, "ca.key");
  const char *req[] = { "req", self_signed ? "-x509" : "-new", "-newkey", "ec", "-pkeyopt",
                        "ec_paramgen_curve:P-256", "-nodes", "-keyout", key, "-out", self_signed ? pem : csr,
                        "-subj", subject, "-days", "2", ext ? "-addext" : NULL, ext, NULL };
  openssl (req);
  if (self_signed)
    return;
  const char *sign[] = { "ca", "-batch", "-notext", "-config", cnf, "-cert", ca, "-keyfile", ca_key, "-in", csr,
                         "-out", pem, expired ? "-startdate" : "-days", expired ? "20200101000000Z" : "2",
                         expired ? "-enddate" : NULL, "20200102000000Z", NULL };
  openssl (sign);
}

PorticoTestPki *
portico_test_pki_new (void)
{
  PorticoTestPki *pki = g_new0 (PorticoTestPki, 1);
  pki->dir = g_dir_make_tmp ("portico-pki-XXXXXX", NULL);
  g_assert_nonnull (pki->dir);
  g_autofree char *cnf = portico_test_pki_path (pki, "ca.cnf");
  g_autofree char *index = portico_test_pki_path (pki, "index.txt");
  g_autofree char *serial = portico_test_pki_path (pki, "serial");
  g_autofree char *text = g_strdup_printf ("[ca]\ndefault_ca = test\n[test]\ndatabase = %s\nnew_certs_dir = %s\n"
                                           "serial = %s\ndefault_md = sha256\npolicy = any\n"
                                           "copy_extensions = copy\nunique_subject = no\n"
                                           "[any]\ncommonName = supplied\n",
                                           index, pki->dir, serial);
  g_assert_true (g_file_set_contents (cnf, text, -1, NULL));
  g_assert_true (g_file_set_contents (index, "", -1, NULL));
  g_assert_true (g_file_set_contents (serial, "1000\n", -1, NULL));
  portico_test_pki_make_cert (pki, "ca", "Portico Test CA", NULL, TRUE, FALSE);
  portico_test_pki_make_cert (pki, "server", "localhost", "DNS:localhost,IP:127.0.0.1", FALSE, FALSE);
  portico_test_pki_make_cert (pki, "other", "other.test", "DNS:other.test,DNS:*.other.test", FALSE, FALSE);
  portico_test_pki_make_cert (pki, "expired", "localhost", "DNS:localhost,IP:127.0.0.1", FALSE, TRUE);
  portico_test_pki_make_cert (pki, "self", "localhost", "DNS:localhost,IP:127.0.0.1", TRUE, FALSE);
  portico_test_pki_make_cert (pki, "client", "portico-client", NULL, FALSE, FALSE);
  return pki;
}

void
portico_test_pki_free (PorticoTestPki *pki)
{
  if (pki == NULL)
    return;
  g_autoptr (GDir) dir = g_dir_open (pki->dir, 0, NULL);
  const char *name;
  while (dir != NULL && (name = g_dir_read_name (dir)) != NULL)
    {
      g_autofree char *path = portico_test_pki_path (pki, name);
      g_unlink (path);
    }
  g_rmdir (pki->dir);
  g_free (pki->dir);
  g_free (pki);
}
