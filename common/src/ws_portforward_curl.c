/* libcurl over a port-forward tunnel: the glue every caller that speaks
 * HTTP or gRPC through a tunnel needs (probecheck --exercise, the test
 * driver), in one place. */
#include <curl/curl.h>

#include <kube/stream.h>

#include "internal.h"

int kube_portforward_curl_needs_listen(void)
{
	/* before 8.0.0 libcurl connect()s even a socket its SOCKOPTFUNCTION
	 * calls connected (curl/curl#10626) */
	return curl_version_info(CURLVERSION_NOW)->version_num < 0x080000;
}

static curl_socket_t tunnel_socket(void *user, curlsocktype purpose, struct curl_sockaddr *address)
{
	(void)purpose;
	(void)address;
	return (curl_socket_t)kube_portforward_fd(user);
}

static int already_connected(void *user, curl_socket_t fd, curlsocktype purpose)
{
	(void)user;
	(void)fd;
	(void)purpose;
	return CURL_SOCKOPT_ALREADY_CONNECTED;
}

static int keep_socket(void *user, curl_socket_t fd)
{
	(void)user;
	(void)fd;
	return 0; /* the tunnel owns it */
}

void kube_portforward_curl_attach(kube_portforward *pf, void *easy)
{
	if (kube_portforward_fd(pf) < 0) {
		curl_easy_setopt(easy, CURLOPT_ABSTRACT_UNIX_SOCKET, kube_portforward_socket_name(pf));
		return;
	}
	curl_easy_setopt(easy, CURLOPT_OPENSOCKETFUNCTION, tunnel_socket);
	curl_easy_setopt(easy, CURLOPT_OPENSOCKETDATA, pf);
	curl_easy_setopt(easy, CURLOPT_SOCKOPTFUNCTION, already_connected);
	curl_easy_setopt(easy, CURLOPT_CLOSESOCKETFUNCTION, keep_socket);
}
