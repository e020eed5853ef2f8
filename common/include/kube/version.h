/* What this build of libkube is: rollguard's version, the git commit and
 * date it was built from, and the libcurl and OpenSSL it runs on. */
#ifndef KUBE_VERSION_H
#define KUBE_VERSION_H

#ifdef __cplusplus
extern "C" {
#endif

/* The rollguard release, e.g. "0.1.0". Static string. */
const char *kube_version_string(void);

/* The git commit the build came from (12 hex digits), or "unknown". */
const char *kube_version_commit(void);

/* The build time, UTC, RFC 3339 ("2024-11-24T12:00:00Z"). */
const char *kube_version_build_date(void);

/* The libcurl in use at run time, e.g. "7.88.1" (curl_version_info). */
const char *kube_version_curl(void);

/* The TLS library in use at run time as it names itself, e.g.
 * "OpenSSL 3.0.15 3 Sep 2024" (OpenSSL_version(OPENSSL_VERSION)). */
const char *kube_version_openssl(void);

#ifdef __cplusplus
}
#endif
#endif
