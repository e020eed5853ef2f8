/* libFuzzer target for kubeconfig parsing and resolution: the input is one
 * kubeconfig file (YAML or JSON) under a made-up path, so nothing is read
 * from disk except what the input's paths point at. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <kube/config.h>
#include <kube/error.h>

#include "kubeconfig.h"
#include "rest.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static int initialised;
	struct kube_kubeconfig kc = KUBE_KUBECONFIG_INIT;
	kube_config_options opts = KUBE_CONFIG_OPTIONS_INIT;
	kube_config *config = NULL;
	if (!initialised) {
		/* Keep the machine's service account out of the runs. */
		unsetenv("KUBERNETES_SERVICE_HOST");
		unsetenv("KUBERNETES_SERVICE_PORT");
		initialised = 1;
	}
	opts.in_cluster_dir = "/nonexistent/rollguard-fuzz";
	/* A second file merged over the first exercises first-wins merging. */
	if (kube_kubeconfig_add(&kc, "/fuzz/dir/config", (const char *)data, size) == 0 &&
	    kube_kubeconfig_add(&kc, "/fuzz/other/config", (const char *)data, size) == 0 &&
	    kube_config_resolve(&config, &kc, &opts) == 0) {
		const struct kube_rest *rest = kube_config_rest(config);
		if (!rest->server || strlen(kube_config_namespace(config)) == 0)
			abort();
		kube_config_free(config);
	} else if (strchr(kube_error_last()->message, '\n')) {
		abort();
	}
	kube_kubeconfig_dispose(&kc);
	return 0;
}
