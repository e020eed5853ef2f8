/* Build metadata and the versions of the libraries libkube runs on. */
#include <curl/curl.h>
#include <openssl/crypto.h>

#include <kube/version.h>

#include "build_info.h"

const char *kube_version_string(void)
{
	return ROLLGUARD_VERSION;
}

const char *kube_version_commit(void)
{
	return ROLLGUARD_COMMIT;
}

const char *kube_version_build_date(void)
{
	return ROLLGUARD_BUILD_DATE;
}

const char *kube_version_curl(void)
{
	const curl_version_info_data *info = curl_version_info(CURLVERSION_NOW);
	return info && info->version ? info->version : "unknown";
}

const char *kube_version_openssl(void)
{
	const char *version = OpenSSL_version(OPENSSL_VERSION);
	return version ? version : "unknown";
}
