/* A throwaway EC P-256 key and self-signed certificate for 127.0.0.1 and
 * localhost, written as PEM files for the TLS benchmarks. */
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>
#include <stdio.h>

#include "bench.h"

static int write_pem(const char *path, EVP_PKEY *key, X509 *cert)
{
    FILE *f = fopen(path, "w");
    if (!f)
        return -1;
    int ok = key ? PEM_write_PrivateKey(f, key, NULL, NULL, 0, NULL, NULL)
                 : PEM_write_X509(f, cert);
    return (fclose(f) == 0 && ok) ? 0 : -1;
}

int bench_make_cert(const char *cert_path, const char *key_path)
{
    EVP_PKEY *key = EVP_EC_gen("P-256");
    X509 *x = X509_new();
    int r = -1;
    if (!key || !x)
        goto out;
    ASN1_INTEGER_set(X509_get_serialNumber(x), 1);
    X509_gmtime_adj(X509_getm_notBefore(x), -60);
    X509_gmtime_adj(X509_getm_notAfter(x), 3600);
    X509_set_pubkey(x, key);
    X509_NAME *name = X509_get_subject_name(x);
    X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC, (const unsigned char *)"localhost",
                               -1, -1, 0);
    X509_set_issuer_name(x, name);
    X509V3_CTX v3;
    X509V3_set_ctx_nodb(&v3);
    X509V3_set_ctx(&v3, x, x, NULL, NULL, 0);
    X509_EXTENSION *san = X509V3_EXT_conf_nid(NULL, &v3, NID_subject_alt_name,
                                              "DNS:localhost,IP:127.0.0.1");
    if (!san || !X509_add_ext(x, san, -1)) {
        X509_EXTENSION_free(san);
        goto out;
    }
    X509_EXTENSION_free(san);
    if (X509_sign(x, key, EVP_sha256()) <= 0)
        goto out;
    r = write_pem(cert_path, NULL, x) || write_pem(key_path, key, NULL) ? -1 : 0;
out:
    X509_free(x);
    EVP_PKEY_free(key);
    return r;
}
