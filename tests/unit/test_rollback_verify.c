/* Tests of plugins/rollback-safe/readiness.c and verify.c: readiness of
 * Deployments, StatefulSets, DaemonSets, Jobs and PVCs as `kubectl rollout
 * status` judges it, the worst pod named as the reason, and the wait itself
 * against a canned API server: one list per kind and namespace a round,
 * pods listed only while something is not ready, an early stop on a
 * failed Job, the timeout, API errors, SIGINT; then the JSON and text
 * reports. */
#include <errno.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include <kube/client.h>

#include "cli/cli.h"
#include "readiness.h"
#include "test_support.h"
#include "verify.h"

/* ---- fixtures ------------------------------------------------------------------------------------------------ */

/* JSON written with ' for " (none of the fixtures needs a '), freed
 * after each test. */
static json_t *fixtures[64];
static size_t fixture_count;

static json_t *J(const char *text)
{
	char *copy = strdup(text);
	assert_non_null(copy);
	for (char *p = copy; *p; p++)
		if (*p == '\'')
			*p = '"';
	json_error_t err;
	json_t *doc = json_loads(copy, 0, &err);
	if (!doc)
		fail_msg("fixture does not parse: %s: %s", err.text, copy);
	free(copy);
	assert_true(fixture_count < sizeof(fixtures) / sizeof(fixtures[0]));
	fixtures[fixture_count++] = doc;
	return doc;
}

static int free_fixtures(void **state)
{
	(void)state;
	for (size_t i = 0; i < fixture_count; i++)
		json_decref(fixtures[i]);
	fixture_count = 0;
	return 0;
}

#define WEB_SELECTOR "'selector':{'matchLabels':{'app':'web'}}"

#define DEPLOY_READY                                                                                                   \
	"{'kind':'Deployment','metadata':{'name':'web','generation':2},'spec':{'replicas':2," WEB_SELECTOR "},"        \
	"'status':{'observedGeneration':2,'replicas':2,'updatedReplicas':2,'readyReplicas':2,'availableReplicas':2}}"
#define DEPLOY_UNAVAILABLE                                                                                             \
	"{'kind':'Deployment','metadata':{'name':'web','generation':2},'spec':{'replicas':2," WEB_SELECTOR "},"        \
	"'status':{'observedGeneration':2,'replicas':2,'updatedReplicas':2,'readyReplicas':0,'availableReplicas':0}}"

#define POD_CRASH                                                                                                      \
	"{'metadata':{'name':'web-abc','labels':{'app':'web','pod-template-hash':'abc'}},'status':{'phase':'Running'," \
	"'conditions':[{'type':'Ready','status':'False','message':'containers with unready status: [web]'}],"          \
	"'containerStatuses':[{'name':'web','restartCount':4,'state':{'waiting':{'reason':'CrashLoopBackOff',"         \
	"'message':'back-off 10s restarting failed container=web pod=web-abc_ns(uid)'}},"                              \
	"'lastState':{'terminated':{'reason':'Error','exitCode':1}}}]}}"
#define POD_CREATING                                                                                                   \
	"{'metadata':{'name':'web-def','labels':{'app':'web'}},'status':{'phase':'Pending',"                           \
	"'conditions':[{'type':'Ready','status':'False'}],"                                                            \
	"'containerStatuses':[{'name':'web','restartCount':0,'state':{'waiting':{'reason':'ContainerCreating'}}}]}}"
#define POD_PULL                                                                                                       \
	"{'metadata':{'name':'web-ghi','labels':{'app':'web'}},'status':{'phase':'Pending',"                           \
	"'containerStatuses':[{'name':'web','restartCount':0,'state':{'waiting':{'reason':'ImagePullBackOff',"         \
	"'message':'Back-off pulling image nginx:nope'}}}]}}"
#define POD_OOM                                                                                                        \
	"{'metadata':{'name':'web-jkl','labels':{'app':'web'}},'status':{'phase':'Running',"                           \
	"'conditions':[{'type':'Ready','status':'False'}],'containerStatuses':[{'name':'web','restartCount':1,"        \
	"'state':{'running':{}},'lastState':{'terminated':{'reason':'OOMKilled','exitCode':137}}}]}}"
#define POD_UNSCHEDULABLE                                                                                              \
	"{'metadata':{'name':'web-mno','labels':{'app':'web'}},'status':{'phase':'Pending',"                           \
	"'conditions':[{'type':'PodScheduled','status':'False','reason':'Unschedulable',"                              \
	"'message':'0/3 nodes are available: 3 Insufficient cpu.'}]}}"
#define POD_EVICTED                                                                                                    \
	"{'metadata':{'name':'web-pqr','labels':{'app':'web'}},'status':{'phase':'Failed','reason':'Evicted',"         \
	"'message':'The node was low on resource: memory.\\n'}}"
#define POD_RESTARTS                                                                                                   \
	"{'metadata':{'name':'web-stu','labels':{'app':'web'}},'status':{'phase':'Running',"                           \
	"'conditions':[{'type':'Ready','status':'False'}],'containerStatuses':[{'name':'web','restartCount':2,"        \
	"'state':{'running':{}},'lastState':{'terminated':{'reason':'Error','exitCode':1}}}]}}"
#define POD_TWO_CONTAINERS                                                                                             \
	"{'metadata':{'name':'web-vwx','labels':{'app':'web'}},'status':{'phase':'Running',"                           \
	"'conditions':[{'type':'Ready','status':'False'}],'containerStatuses':["                                       \
	"{'name':'web','restartCount':0,'state':{'running':{}}},"                                                      \
	"{'name':'sidecar','restartCount':3,'state':{'waiting':{'reason':'CreateContainerConfigError',"                \
	"'message':'secret tls not found'}}}]}}"
#define POD_NOT_READY                                                                                                  \
	"{'metadata':{'name':'web-yz','labels':{'app':'web'}},'status':{'phase':'Running',"                            \
	"'conditions':[{'type':'Ready','status':'False','message':'containers with unready status: [web]'}],"          \
	"'containerStatuses':[{'name':'web','restartCount':0,'state':{'running':{}}}]}}"
#define POD_READY                                                                                                      \
	"{'metadata':{'name':'web-ok','labels':{'app':'web'}},'status':{'phase':'Running',"                            \
	"'conditions':[{'type':'Ready','status':'True'}],'containerStatuses':[{'name':'web','restartCount':9,"         \
	"'state':{'running':{}},'lastState':{'terminated':{'reason':'OOMKilled'}}}]}}"
#define POD_TERMINATING                                                                                                \
	"{'metadata':{'name':'web-old','deletionTimestamp':'2026-11-24T05:30:00Z','labels':{'app':'web'}},"            \
	"'status':{'phase':'Running','containerStatuses':[{'name':'web','restartCount':0,"                             \
	"'state':{'waiting':{'reason':'CrashLoopBackOff'}}}]}}"
#define POD_OTHER_APP                                                                                                  \
	"{'metadata':{'name':'api-1','labels':{'app':'api'}},'status':{'phase':'Pending',"                             \
	"'containerStatuses':[{'name':'api','restartCount':0,'state':{'waiting':{'reason':'ImagePullBackOff'}}}]}}"

/* ---- readiness, one object ----------------------------------------------------------------------------------- */

struct readiness_case {
	const char *live; /* NULL: not found */
	const char *pods; /* JSON array or NULL */
	enum rollback_readiness want;
	const char *reason;
};

static void check_cases(const struct readiness_case *cases, size_t count)
{
	for (size_t i = 0; i < count; i++) {
		const json_t *live = cases[i].live ? J(cases[i].live) : NULL;
		const json_t *pods = cases[i].pods ? J(cases[i].pods) : NULL;
		char reason[512];
		memset(reason, 'x', sizeof(reason));
		enum rollback_readiness got = rollback_workload_ready(live, pods, reason, sizeof(reason));
		if (got != cases[i].want || strcmp(reason, cases[i].reason) != 0)
			fail_msg("case %zu: got %d \"%s\", want %d \"%s\"", i, (int)got, reason, (int)cases[i].want,
			         cases[i].reason);
	}
}

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

static void test_rollback_verify__deployment(void **state)
{
	(void)state;
	static const struct readiness_case cases[] = {
	        {DEPLOY_READY, NULL, ROLLBACK_READY, ""},
	        /* the controller has not seen the newest spec */
	        {"{'kind':'Deployment','metadata':{'name':'web','generation':3},'spec':{'replicas':2},"
	         "'status':{'observedGeneration':2,'replicas':2,'updatedReplicas':2,'availableReplicas':2}}",
	         NULL, ROLLBACK_NOT_READY, "rollout not observed yet (generation 3, observed 2)"},
	        {"{'kind':'Deployment','metadata':{'generation':1},'spec':{'replicas':2},"
	         "'status':{'observedGeneration':1,'replicas':2,'updatedReplicas':1,'availableReplicas':2}}",
	         NULL, ROLLBACK_NOT_READY, "1/2 pods updated"},
	        {"{'kind':'Deployment','metadata':{'generation':1},'spec':{'replicas':2},"
	         "'status':{'observedGeneration':1,'replicas':3,'updatedReplicas':2,'availableReplicas':2}}",
	         NULL, ROLLBACK_NOT_READY, "1 old pods pending termination"},
	        {DEPLOY_UNAVAILABLE, NULL, ROLLBACK_NOT_READY, "0/2 pods ready"},
	        /* spec.replicas defaults to 1 */
	        {"{'kind':'Deployment','metadata':{'generation':1},'spec':{},"
	         "'status':{'observedGeneration':1,'replicas':1,'updatedReplicas':1,'availableReplicas':1}}",
	         NULL, ROLLBACK_READY, ""},
	        {"{'kind':'Deployment','metadata':{'generation':1},'spec':{},'status':{'observedGeneration':1}}", NULL,
	         ROLLBACK_NOT_READY, "0/1 pods updated"},
	        /* scaled to zero */
	        {"{'kind':'Deployment','metadata':{'generation':4},'spec':{'replicas':0},"
	         "'status':{'observedGeneration':4}}",
	         NULL, ROLLBACK_READY, ""},
	        /* named, and the wait goes on */
	        {"{'kind':'Deployment','metadata':{'generation':1},'spec':{'replicas':2},'status':{"
	         "'observedGeneration':1,'replicas':2,'updatedReplicas':2,'availableReplicas':0,'conditions':["
	         "{'type':'Available','status':'False'},{'type':'Progressing','status':'False',"
	         "'reason':'ProgressDeadlineExceeded'}]}}",
	         NULL, ROLLBACK_NOT_READY, "0/2 pods ready, progress deadline exceeded"},
	        /* still progressing: not named */
	        {"{'kind':'Deployment','metadata':{'generation':1},'spec':{'replicas':2},'status':{"
	         "'observedGeneration':1,'replicas':2,'updatedReplicas':2,'availableReplicas':1,'conditions':["
	         "{'type':'Progressing','status':'True','reason':'ReplicaSetUpdated'}]}}",
	         NULL, ROLLBACK_NOT_READY, "1/2 pods ready"},
	        {"{'kind':'Deployment','metadata':{'generation':1},'spec':{'replicas':2,'paused':true},"
	         "'status':{'observedGeneration':1,'replicas':2,'updatedReplicas':0,'availableReplicas':2}}",
	         NULL, ROLLBACK_NOT_READY, "0/2 pods updated, rollout paused"},
	        {"{'kind':'Deployment','metadata':{'generation':2,'deletionTimestamp':'2026-11-24T05:30:00Z'},"
	         "'spec':{'replicas':2},'status':{'observedGeneration':2,'replicas':2,'updatedReplicas':2,"
	         "'availableReplicas':2}}",
	         NULL, ROLLBACK_NOT_READY, "being deleted"},
	        {NULL, NULL, ROLLBACK_NOT_READY, "not found"},
	};
	check_cases(cases, ARRAY_SIZE(cases));
}

static void test_rollback_verify__statefulset(void **state)
{
	(void)state;
#define STS(spec_extra, status)                                                                                        \
	"{'kind':'StatefulSet','metadata':{'name':'db','generation':3},'spec':{'replicas':3,"                          \
	"'selector':{'matchLabels':{'app':'db'}}" spec_extra "},'status':{" status "}}"
	static const struct readiness_case cases[] = {
	        {STS(",'updateStrategy':{'type':'RollingUpdate'}",
	             "'observedGeneration':3,'replicas':3,'readyReplicas':3,'updatedReplicas':3,"
	             "'currentRevision':'db-7','updateRevision':'db-7'"),
	         NULL, ROLLBACK_READY, ""},
	        {STS("", "'observedGeneration':3,'replicas':3,'readyReplicas':2,'updatedReplicas':3,"
	                 "'currentRevision':'db-7','updateRevision':'db-7'"),
	         NULL, ROLLBACK_NOT_READY, "2/3 pods ready"},
	        /* all ready, but some still at the old revision */
	        {STS("", "'observedGeneration':3,'replicas':3,'readyReplicas':3,'updatedReplicas':1,"
	                 "'currentRevision':'db-6','updateRevision':'db-7'"),
	         NULL, ROLLBACK_NOT_READY, "1/3 pods updated to revision db-7"},
	        /* a partition: only the pods at or above it must be updated */
	        {STS(",'updateStrategy':{'type':'RollingUpdate','rollingUpdate':{'partition':2}}",
	             "'observedGeneration':3,'replicas':3,'readyReplicas':3,'updatedReplicas':1,"
	             "'currentRevision':'db-6','updateRevision':'db-7'"),
	         NULL, ROLLBACK_READY, ""},
	        {STS(",'updateStrategy':{'type':'RollingUpdate','rollingUpdate':{'partition':2}}",
	             "'observedGeneration':3,'replicas':3,'readyReplicas':3,'updatedReplicas':0,"
	             "'currentRevision':'db-6','updateRevision':'db-7'"),
	         NULL, ROLLBACK_NOT_READY, "0/1 pods updated (partition 2)"},
	        /* OnDelete: revisions are the operator's business */
	        {STS(",'updateStrategy':{'type':'OnDelete'}",
	             "'observedGeneration':3,'replicas':3,'readyReplicas':3,'updatedReplicas':0,"
	             "'currentRevision':'db-6','updateRevision':'db-7'"),
	         NULL, ROLLBACK_READY, ""},
	        /* observedGeneration 0: the controller never looked at it */
	        {"{'kind':'StatefulSet','metadata':{'name':'db'},'spec':{'replicas':0},'status':{}}", NULL,
	         ROLLBACK_NOT_READY, "rollout not observed yet (generation 0, observed 0)"},
	        {STS("", "'observedGeneration':2,'replicas':3,'readyReplicas':3"), NULL, ROLLBACK_NOT_READY,
	         "rollout not observed yet (generation 3, observed 2)"},
	};
#undef STS
	check_cases(cases, ARRAY_SIZE(cases));
}

static void test_rollback_verify__daemonset(void **state)
{
	(void)state;
#define DS(strategy, status)                                                                                           \
	"{'kind':'DaemonSet','metadata':{'name':'agent','generation':5},'spec':{" strategy                             \
	"'selector':{'matchLabels':{'app':'agent'}}},'status':{'observedGeneration':5," status "}}"
	static const struct readiness_case cases[] = {
	        {DS("", "'desiredNumberScheduled':3,'updatedNumberScheduled':3,'numberAvailable':3"), NULL,
	         ROLLBACK_READY, ""},
	        {DS("", "'desiredNumberScheduled':3,'updatedNumberScheduled':2,'numberAvailable':3"), NULL,
	         ROLLBACK_NOT_READY, "2/3 pods updated"},
	        {DS("'updateStrategy':{'type':'RollingUpdate'},",
	            "'desiredNumberScheduled':3,'updatedNumberScheduled':3,'numberAvailable':1"),
	         NULL, ROLLBACK_NOT_READY, "1/3 pods ready"},
	        {DS("'updateStrategy':{'type':'OnDelete'},",
	            "'desiredNumberScheduled':3,'updatedNumberScheduled':0,'numberAvailable':3"),
	         NULL, ROLLBACK_READY, ""},
	        {"{'kind':'DaemonSet','metadata':{'generation':6},'spec':{},'status':{'observedGeneration':5,"
	         "'desiredNumberScheduled':3,'updatedNumberScheduled':3,'numberAvailable':3}}",
	         NULL, ROLLBACK_NOT_READY, "rollout not observed yet (generation 6, observed 5)"},
	        /* no node to run on: nothing to wait for */
	        {DS("", "'desiredNumberScheduled':0,'updatedNumberScheduled':0,'numberAvailable':0"), NULL,
	         ROLLBACK_READY, ""},
	};
#undef DS
	check_cases(cases, ARRAY_SIZE(cases));
}

#define JOB_SELECTOR "'selector':{'matchLabels':{'batch.kubernetes.io/controller-uid':'u-1'}}"
#define JOB_POD_OOM                                                                                                    \
	"{'metadata':{'name':'migrate-abc','labels':{'batch.kubernetes.io/controller-uid':'u-1'}},"                    \
	"'status':{'phase':'Failed','containerStatuses':[{'name':'migrate','restartCount':0,"                          \
	"'state':{'terminated':{'reason':'OOMKilled','exitCode':137}}}]}}"

static void test_rollback_verify__job(void **state)
{
	(void)state;
	static const struct readiness_case cases[] = {
	        {"{'kind':'Job','metadata':{'name':'migrate'},'spec':{" JOB_SELECTOR "},'status':{'succeeded':1,"
	         "'conditions':[{'type':'SuccessCriteriaMet','status':'True'},{'type':'Complete','status':'True'}]}}",
	         NULL, ROLLBACK_READY, ""},
	        /* failed for good, with the pod that made it fail */
	        {"{'kind':'Job','metadata':{'name':'migrate'},'spec':{" JOB_SELECTOR "},'status':{'failed':1,"
	         "'conditions':[{'type':'Failed','status':'True','reason':'BackoffLimitExceeded',"
	         "'message':'Job has reached the specified backoff limit'}]}}",
	         "[" JOB_POD_OOM "]", ROLLBACK_FAILED,
	         "failed: BackoffLimitExceeded (Job has reached the specified backoff limit): pod migrate-abc: "
	         "OOMKilled (0 restarts)"},
	        {"{'kind':'Job','metadata':{'name':'migrate'},'spec':{'completions':3},'status':{'succeeded':1,"
	         "'active':2}}",
	         NULL, ROLLBACK_NOT_READY, "1/3 completions (2 active, 0 failed)"},
	        /* a failed condition that is not True does not count */
	        {"{'kind':'Job','metadata':{'name':'migrate'},'spec':{},'status':{'failed':1,'active':1,"
	         "'conditions':[{'type':'Failed','status':'False'}]}}",
	         NULL, ROLLBACK_NOT_READY, "0/1 completions (1 active, 1 failed)"},
	        {"{'kind':'Job','metadata':{'name':'migrate'},'spec':{'suspend':true},'status':{}}", NULL,
	         ROLLBACK_NOT_READY, "suspended"},
	};
	check_cases(cases, ARRAY_SIZE(cases));
}

static void test_rollback_verify__pvc_and_other_kinds(void **state)
{
	(void)state;
	static const struct readiness_case cases[] = {
	        {"{'kind':'PersistentVolumeClaim','metadata':{'name':'data'},'status':{'phase':'Bound'}}", NULL,
	         ROLLBACK_READY, ""},
	        {"{'kind':'PersistentVolumeClaim','metadata':{'name':'data'},'status':{'phase':'Pending'}}",
	         "[" POD_CRASH "]", ROLLBACK_NOT_READY, "phase Pending"},
	        {"{'kind':'PersistentVolumeClaim','metadata':{'name':'data'}}", NULL, ROLLBACK_NOT_READY,
	         "phase unknown"},
	        {"{'kind':'ConfigMap','metadata':{'name':'cfg'}}", NULL, ROLLBACK_READY, ""},
	        {"{'metadata':{'name':'no-kind'}}", NULL, ROLLBACK_READY, ""},
	};
	check_cases(cases, ARRAY_SIZE(cases));
}

static void test_rollback_verify__pod_reasons(void **state)
{
	(void)state;
	static const struct readiness_case cases[] = {
	        {DEPLOY_UNAVAILABLE, "[" POD_CRASH "]", ROLLBACK_NOT_READY,
	         "0/2 pods ready: pod web-abc: CrashLoopBackOff (back-off 10s restarting failed container=web "
	         "pod=web-abc_ns(uid))"},
	        {DEPLOY_UNAVAILABLE, "[" POD_CREATING "]", ROLLBACK_NOT_READY,
	         "0/2 pods ready: pod web-def: ContainerCreating"},
	        {DEPLOY_UNAVAILABLE, "[" POD_OOM "]", ROLLBACK_NOT_READY,
	         "0/2 pods ready: pod web-jkl: OOMKilled (1 restart)"},
	        {DEPLOY_UNAVAILABLE, "[" POD_UNSCHEDULABLE "]", ROLLBACK_NOT_READY,
	         "0/2 pods ready: pod web-mno: Unschedulable (0/3 nodes are available: 3 Insufficient cpu.)"},
	        {DEPLOY_UNAVAILABLE, "[" POD_EVICTED "]", ROLLBACK_NOT_READY,
	         "0/2 pods ready: pod web-pqr: failed: Evicted (The node was low on resource: memory.)"},
	        {DEPLOY_UNAVAILABLE, "[" POD_RESTARTS "]", ROLLBACK_NOT_READY,
	         "0/2 pods ready: pod web-stu: restarted 2 times (last: Error, exit code 1)"},
	        {DEPLOY_UNAVAILABLE, "[" POD_TWO_CONTAINERS "]", ROLLBACK_NOT_READY,
	         "0/2 pods ready: pod web-vwx: container sidecar: CreateContainerConfigError (secret tls not found)"},
	        {DEPLOY_UNAVAILABLE, "[" POD_NOT_READY "]", ROLLBACK_NOT_READY,
	         "0/2 pods ready: pod web-yz: not ready (containers with unready status: [web])"},
	        /* the worst wins, whatever the order */
	        {DEPLOY_UNAVAILABLE, "[" POD_CREATING "," POD_NOT_READY "," POD_PULL "," POD_UNSCHEDULABLE "]",
	         ROLLBACK_NOT_READY,
	         "0/2 pods ready: pod web-ghi: ImagePullBackOff (Back-off pulling image nginx:nope)"},
	        {DEPLOY_UNAVAILABLE, "[" POD_NOT_READY "," POD_RESTARTS "," POD_UNSCHEDULABLE "," POD_OOM "]",
	         ROLLBACK_NOT_READY, "0/2 pods ready: pod web-jkl: OOMKilled (1 restart)"},
	        {DEPLOY_UNAVAILABLE, "[" POD_NOT_READY "," POD_RESTARTS "]", ROLLBACK_NOT_READY,
	         "0/2 pods ready: pod web-stu: restarted 2 times (last: Error, exit code 1)"},
	        {DEPLOY_UNAVAILABLE, "[" POD_CREATING "," POD_UNSCHEDULABLE "]", ROLLBACK_NOT_READY,
	         "0/2 pods ready: pod web-mno: Unschedulable (0/3 nodes are available: 3 Insufficient cpu.)"},
	        /* ready pods, terminating pods and other workloads' pods say nothing */
	        {DEPLOY_UNAVAILABLE, "[" POD_READY "," POD_TERMINATING "," POD_OTHER_APP "]", ROLLBACK_NOT_READY,
	         "0/2 pods ready"},
	        {DEPLOY_UNAVAILABLE, "[]", ROLLBACK_NOT_READY, "0/2 pods ready"},
	        /* a ready workload is not explained */
	        {DEPLOY_READY, "[" POD_CRASH "]", ROLLBACK_READY, ""},
	        /* a selector without matchLabels or expressions matches nothing */
	        {"{'kind':'Deployment','metadata':{'generation':1},'spec':{'replicas':1,'selector':{}},"
	         "'status':{'observedGeneration':1}}",
	         "[" POD_CRASH "]", ROLLBACK_NOT_READY, "0/1 pods updated"},
	};
	check_cases(cases, ARRAY_SIZE(cases));
}

static void test_rollback_verify__selector_expressions(void **state)
{
	(void)state;
#define DEPLOY_EXPR(exprs)                                                                                             \
	"{'kind':'Deployment','metadata':{'generation':1},'spec':{'replicas':1,'selector':{"                           \
	"'matchLabels':{'app':'web'},'matchExpressions':[" exprs "]}},'status':{'observedGeneration':1}}"
#define POD_LABELLED(name, labels)                                                                                     \
	"{'metadata':{'name':'" name "','labels':{" labels "}},'status':{'phase':'Pending','containerStatuses':"       \
	"[{'name':'c','state':{'waiting':{'reason':'ErrImagePull'}}}]}}"
	const char *pods = "[" POD_LABELLED("p-canary", "'app':'web','track':'canary'") "," POD_LABELLED(
	        "p-stable", "'app':'web','track':'stable'") "," POD_LABELLED("p-none", "'app':'web'") "]";
	const struct readiness_case cases[] = {
	        {DEPLOY_EXPR("{'key':'track','operator':'In','values':['stable','blue']}"), pods, ROLLBACK_NOT_READY,
	         "0/1 pods updated: pod p-stable: ErrImagePull"},
	        {DEPLOY_EXPR("{'key':'track','operator':'NotIn','values':['stable','canary']}"), pods,
	         ROLLBACK_NOT_READY, "0/1 pods updated: pod p-none: ErrImagePull"},
	        {DEPLOY_EXPR(
	                 "{'key':'track','operator':'Exists'},{'key':'track','operator':'NotIn','values':['stable']}"),
	         pods, ROLLBACK_NOT_READY, "0/1 pods updated: pod p-canary: ErrImagePull"},
	        {DEPLOY_EXPR("{'key':'track','operator':'DoesNotExist'}"), pods, ROLLBACK_NOT_READY,
	         "0/1 pods updated: pod p-none: ErrImagePull"},
	        {DEPLOY_EXPR("{'key':'track','operator':'Gt','values':['1']}"), pods, ROLLBACK_NOT_READY,
	         "0/1 pods updated"},
	};
#undef DEPLOY_EXPR
#undef POD_LABELLED
	check_cases(cases, ARRAY_SIZE(cases));
}

static void test_rollback_verify__reason_fits_small_buffers(void **state)
{
	(void)state;
	const json_t *live = J(DEPLOY_UNAVAILABLE);
	const json_t *pods = J("[" POD_CRASH "]");
	static const char full[] = "0/2 pods ready: pod web-abc: CrashLoopBackOff (back-off 10s restarting failed "
	                           "container=web pod=web-abc_ns(uid))";
	for (size_t size = 1; size < sizeof(full) + 8; size++) {
		char reason[sizeof(full) + 16];
		memset(reason, 'x', sizeof(reason));
		assert_int_equal(rollback_workload_ready(live, pods, reason, size), ROLLBACK_NOT_READY);
		/* what fits of the whole reason, and not a byte more */
		assert_int_equal(strlen(reason), size - 1 < strlen(full) ? size - 1 : strlen(full));
		assert_int_equal(strncmp(reason, full, strlen(reason)), 0);
		assert_int_equal(reason[size], 'x');
	}
}

/* ---- the wait, against a canned API server ------------------------------------------------------------------- */

#define OK_JSON(body) "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nConnection: close\r\n\r\n" body
#define FORBIDDEN                                                                                                      \
	"HTTP/1.1 403 Forbidden\r\nContent-Type: application/json\r\nConnection: close\r\n\r\n"                        \
	"{\"kind\":\"Status\",\"apiVersion\":\"v1\",\"status\":\"Failure\",\"reason\":\"Forbidden\",\"message\":"      \
	"\"deployments.apps is forbidden: User \\\"bob\\\" cannot list resource \\\"deployments\\\"\",\"code\":403}"
#define LIST(kind, items)                                                                                              \
	"{\"kind\":\"" kind "\",\"apiVersion\":\"v1\",\"metadata\":{\"resourceVersion\":\"9\"},\"items\":[" items "]}"

#define L_DEPLOY(name, available)                                                                                      \
	"{\"metadata\":{\"name\":\"" name "\",\"namespace\":\"ns\",\"generation\":1},\"spec\":{\"replicas\":2,"        \
	"\"selector\":{\"matchLabels\":{\"app\":\"" name "\"}}},\"status\":{\"observedGeneration\":1,\"replicas\":2,"  \
	"\"updatedReplicas\":2,\"availableReplicas\":" #available "}}"
#define L_POD_CRASH                                                                                                    \
	"{\"metadata\":{\"name\":\"web-abc\",\"labels\":{\"app\":\"web\"}},\"status\":{\"phase\":\"Running\","         \
	"\"containerStatuses\":[{\"name\":\"web\",\"restartCount\":3,\"state\":{\"waiting\":{\"reason\":"              \
	"\"CrashLoopBackOff\",\"message\":\"back-off 40s\"}}}]}}"
#define L_JOB_FAILED                                                                                                   \
	"{\"metadata\":{\"name\":\"migrate\",\"namespace\":\"ns\"},\"spec\":{\"selector\":{\"matchLabels\":"           \
	"{\"controller-uid\":\"u-1\"}}},\"status\":{\"failed\":2,\"conditions\":[{\"type\":\"Failed\",\"status\":"     \
	"\"True\",\"reason\":\"BackoffLimitExceeded\",\"message\":\"Job has reached the specified backoff limit\"}]}}"
#define L_PVC(name, phase) "{\"metadata\":{\"name\":\"" name "\"},\"status\":{\"phase\":\"" phase "\"}}"

/* What the route functions answer, set by each test. */
static atomic_int deploy_lists, pvc_lists;
static int deploy_ready_from; /* the deployments list turns ready from this call on; -1 never */
static int forbid_deployments, forbid_pods, interrupt_on_pods;

static int request_is(const char *req, const char *prefix)
{
	return strncmp(req, prefix, strlen(prefix)) == 0;
}

static const char *route(const char *req)
{
	if (request_is(req, "GET /apis/apps/v1/namespaces/ns/deployments?")) {
		int n = atomic_fetch_add(&deploy_lists, 1);
		if (forbid_deployments)
			return FORBIDDEN;
		if (strstr(req, "fieldSelector=metadata.name%3Dweb"))
			return deploy_ready_from >= 0 && n >= deploy_ready_from
			               ? OK_JSON(LIST("DeploymentList", L_DEPLOY("web", 2)))
			               : OK_JSON(LIST("DeploymentList", L_DEPLOY("web", 0)));
		/* web and api together: only web comes back */
		return OK_JSON(LIST("DeploymentList", L_DEPLOY("web", 2)));
	}
	if (request_is(req, "GET /apis/apps/v1/namespaces/other/deployments?"))
		return OK_JSON(LIST("DeploymentList", L_DEPLOY("cache", 2)));
	if (request_is(req, "GET /api/v1/namespaces/ns/pods?")) {
		if (interrupt_on_pods)
			kill(getpid(), SIGINT);
		return forbid_pods ? FORBIDDEN : OK_JSON(LIST("PodList", L_POD_CRASH));
	}
	if (request_is(req, "GET /apis/batch/v1/namespaces/ns/jobs?"))
		return OK_JSON(LIST("JobList", L_JOB_FAILED));
	if (request_is(req, "GET /api/v1/namespaces/ns/persistentvolumeclaims?")) {
		atomic_fetch_add(&pvc_lists, 1);
		if (strstr(req, "fieldSelector=metadata.name%3Dslow"))
			return OK_JSON(LIST("PersistentVolumeClaimList", L_PVC("slow", "Pending")));
		return OK_JSON(LIST("PersistentVolumeClaimList", L_PVC("data", "Bound")));
	}
	return NULL;
}

static void reset_route(void)
{
	atomic_store(&deploy_lists, 0);
	atomic_store(&pvc_lists, 0);
	deploy_ready_from = -1;
	forbid_deployments = forbid_pods = interrupt_on_pods = 0;
}

#define MANIFEST_WEB "[{'apiVersion':'apps/v1','kind':'Deployment','metadata':{'name':'web','namespace':'ns'}}]"

/* The request lines the server answered, joined by newlines. */
static const char *request_lines(const struct test_api *fx)
{
	static char lines[8192];
	size_t used = 0;
	lines[0] = '\0';
	int served = atomic_load(&fx->srv.served);
	for (int i = 0; i < served && i < TEST_SERVER_MAX_STEPS; i++)
		used += (size_t)snprintf(lines + used, sizeof(lines) - used, "%s\n",
		                         test_server_request_line(&fx->srv, i));
	return lines;
}

/* What one wait against the canned server did. */
struct wait {
	int rc;            /* rollback_verify's */
	int served;        /* requests the server answered */
	const char *lines; /* their request lines (request_lines) */
	char errors[1024]; /* what it printed through cli_error */
};

/* Runs rollback_verify over manifest (a fixture, see J) for the release
 * namespace "ns", against a canned server that answers as route is set
 * up now, then stops the server. */
static struct wait verify_against_route(rollback_verify_result *r, const char *manifest, long timeout_ms, int quiet)
{
	struct test_api fx;
	rollback_ctx ctx;
	struct wait seen;
	char *errors = NULL;
	size_t errors_len = 0;
	FILE *err = open_memstream(&errors, &errors_len);
	assert_non_null(err);
	test_api_start(&fx, NULL, route, NULL);
	memset(&ctx, 0, sizeof(ctx));
	ctx.client = fx.client;
	ctx.ns = "ns";
	cli_error_stream_set(err);
	seen.rc = rollback_verify(&ctx, J(manifest), timeout_ms, quiet, r);
	cli_error_stream_set(NULL);
	(void)fclose(err);
	(void)snprintf(seen.errors, sizeof(seen.errors), "%s", errors);
	free(errors);
	seen.lines = request_lines(&fx);
	seen.served = atomic_load(&fx.srv.served);
	test_api_stop(&fx);
	return seen;
}

static void test_rollback_verify__waits_until_ready(void **state)
{
	(void)state;
	reset_route();
	deploy_ready_from = 1;
	rollback_verify_result r;
	struct wait seen = verify_against_route(&r, MANIFEST_WEB, 20000, 1);
	assert_int_equal(seen.rc, 0);
	assert_true(r.all_ready);
	assert_int_equal(r.count, 1);
	assert_string_equal(r.objects[0].kind, "Deployment");
	assert_string_equal(r.objects[0].ns, "ns");
	assert_string_equal(r.objects[0].name, "web");
	assert_true(r.objects[0].ready);
	assert_string_equal(r.objects[0].reason, "");
	/* a round apart, and well before the timeout */
	assert_true(r.elapsed_ms >= 900 && r.elapsed_ms < 10000);
	/* the deployment by its name, its pods by its selector only while
	 * it is not ready */
	assert_int_equal(seen.served, 3);
	if (!strstr(seen.lines,
	            "GET /apis/apps/v1/namespaces/ns/deployments?limit=500&fieldSelector=metadata.name%3Dweb") ||
	    !strstr(seen.lines, "GET /api/v1/namespaces/ns/pods?limit=500&labelSelector=app%3Dweb"))
		fail_msg("requests: %s", seen.lines);
	assert_true(strstr(seen.lines, "/pods?") < strstr(strstr(seen.lines, "/pods?"), "deployments?"));
	rollback_verify_dispose(&r);
	assert_null(r.objects);
	assert_int_equal(r.count, 0);
}

static void test_rollback_verify__times_out_with_the_reason(void **state)
{
	(void)state;
	reset_route();
	rollback_verify_result r;
	struct wait seen = verify_against_route(&r, MANIFEST_WEB, 1200, 1);
	assert_int_equal(seen.rc, 0);
	assert_false(r.all_ready);
	assert_int_equal(r.count, 1);
	assert_false(r.objects[0].ready);
	assert_string_equal(r.objects[0].reason, "0/2 pods ready: pod web-abc: CrashLoopBackOff (back-off 40s)");
	assert_true(r.elapsed_ms >= 1200 && r.elapsed_ms < 6000);
	assert_true(seen.served >= 4 && seen.served % 2 == 0); /* deployments and pods each round */
	rollback_verify_dispose(&r);
}

static void test_rollback_verify__failed_job_stops_early(void **state)
{
	(void)state;
	reset_route();
	rollback_verify_result r;
	struct wait seen = verify_against_route(
	        &r, "[{'apiVersion':'batch/v1','kind':'Job','metadata':{'name':'migrate'}}]", 60000, 1);
	assert_int_equal(seen.rc, 0);
	assert_false(r.all_ready);
	assert_true(r.elapsed_ms < 5000);
	assert_int_equal(r.count, 1);
	assert_string_equal(r.objects[0].ns, "ns"); /* the release namespace when the manifest has none */
	assert_string_equal(r.objects[0].reason,
	                    "failed: BackoffLimitExceeded (Job has reached the specified backoff limit)");
	assert_int_equal(seen.served, 2);
	if (!strstr(seen.lines,
	            "GET /apis/batch/v1/namespaces/ns/jobs?limit=500&fieldSelector=metadata.name%3Dmigrate") ||
	    !strstr(seen.lines, "GET /api/v1/namespaces/ns/pods?limit=500&labelSelector=controller-uid%3Du-1"))
		fail_msg("requests: %s", seen.lines);
	rollback_verify_dispose(&r);
}

static void test_rollback_verify__one_list_per_kind_and_namespace(void **state)
{
	(void)state;
	reset_route();
	const char *manifest =
	        "[{'apiVersion':'v1','kind':'ConfigMap','metadata':{'name':'cfg','namespace':'ns'}},"
	        "{'apiVersion':'apps/v1','kind':'Deployment','metadata':{'name':'web','namespace':'ns'}},"
	        "{'apiVersion':'v1','kind':'Service','metadata':{'name':'web','namespace':'ns'}},"
	        "{'apiVersion':'v1','kind':'PersistentVolumeClaim','metadata':{'name':'data','namespace':'ns'}},"
	        "{'apiVersion':'apps/v1','kind':'Deployment','metadata':{'name':'api','namespace':'ns'}},"
	        "{'apiVersion':'apps/v1','kind':'Deployment','metadata':{'name':'web','namespace':'ns'}},"
	        "{'apiVersion':'apps/v1','kind':'Deployment','metadata':{'name':'cache','namespace':'other'}},"
	        "{'apiVersion':'example.com/v1','kind':'Deployment','metadata':{'name':'crd','namespace':'ns'}},"
	        "{'apiVersion':'batch/v1','kind':'Job','metadata':{'namespace':'ns'}},"
	        "{'apiVersion':'apps/v1','kind':'StatefulSet'}]";
	rollback_verify_result r;
	/* api is missing: not found; one round only (timeout 0) */
	struct wait seen = verify_against_route(&r, manifest, 0, 1);
	assert_int_equal(seen.rc, 0);
	assert_false(r.all_ready);
	assert_int_equal(r.count, 4);
	static const char *const names[] = {"web", "data", "api", "cache"};
	static const char *const kinds[] = {"Deployment", "PersistentVolumeClaim", "Deployment", "Deployment"};
	static const int ready[] = {1, 1, 0, 1};
	for (size_t i = 0; i < 4; i++) {
		assert_string_equal(r.objects[i].name, names[i]);
		assert_string_equal(r.objects[i].kind, kinds[i]);
		assert_int_equal(r.objects[i].ready, ready[i]);
	}
	assert_string_equal(r.objects[2].reason, "not found");
	assert_string_equal(r.objects[3].ns, "other");
	/* ns deployments together (no field selector), the PVC, other's
	 * deployment by name; no pods: the only one not ready is missing */
	assert_int_equal(seen.served, 3);
	if (!strstr(seen.lines, "GET /apis/apps/v1/namespaces/ns/deployments?limit=500 HTTP/1.1") ||
	    !strstr(seen.lines,
	            "GET /api/v1/namespaces/ns/persistentvolumeclaims?limit=500&fieldSelector=metadata.name%3Ddata") ||
	    !strstr(seen.lines,
	            "GET /apis/apps/v1/namespaces/other/deployments?limit=500&fieldSelector=metadata.name%3Dcache") ||
	    strstr(seen.lines, "/pods"))
		fail_msg("requests: %s", seen.lines);
	rollback_verify_dispose(&r);
}

static void test_rollback_verify__ready_kinds_are_not_listed_again(void **state)
{
	(void)state;
	reset_route();
	deploy_ready_from = 0;
	rollback_verify_result r;
	struct wait seen = verify_against_route(
	        &r,
	        "[{'apiVersion':'apps/v1','kind':'Deployment','metadata':{'name':'web','namespace':'ns'}},"
	        "{'apiVersion':'v1','kind':'PersistentVolumeClaim','metadata':{'name':'slow','namespace':'ns'}}]",
	        1100, 1);
	assert_int_equal(seen.rc, 0);
	assert_false(r.all_ready);
	assert_true(r.objects[0].ready);
	assert_false(r.objects[1].ready);
	assert_string_equal(r.objects[1].reason, "phase Pending");
	/* the Deployment was ready in the first round: listed once; the PVC
	 * each round; a PVC has no pods to ask about */
	assert_int_equal(atomic_load(&deploy_lists), 1);
	assert_true(atomic_load(&pvc_lists) >= 2);
	if (strstr(seen.lines, "/pods"))
		fail_msg("requests: %s", seen.lines);
	rollback_verify_dispose(&r);
}

static void test_rollback_verify__nothing_to_verify(void **state)
{
	(void)state;
	reset_route();
	rollback_verify_result r;
	struct wait seen =
	        verify_against_route(&r, "[{'apiVersion':'v1','kind':'Service','metadata':{'name':'web'}}]", 5000, 0);
	assert_int_equal(seen.rc, 0);
	assert_true(r.all_ready);
	assert_int_equal(r.count, 0);
	assert_int_equal(seen.served, 0);
	rollback_verify_dispose(&r);
}

static void test_rollback_verify__forbidden_list_is_an_api_error(void **state)
{
	(void)state;
	reset_route();
	forbid_deployments = 1;
	rollback_verify_result r;
	struct wait seen = verify_against_route(&r, MANIFEST_WEB, 5000, 1);
	assert_int_equal(seen.rc, CLI_EXIT_API);
	assert_false(r.all_ready);
	if (!strstr(seen.errors, "error: listing deployments in namespace ns: ") ||
	    !strstr(seen.errors, "cannot list resource \"deployments\""))
		fail_msg("errors: %s", seen.errors);
	rollback_verify_dispose(&r);
}

static void test_rollback_verify__forbidden_pods_only_cost_the_reason(void **state)
{
	(void)state;
	reset_route();
	forbid_pods = 1;
	rollback_verify_result r;
	struct wait seen = verify_against_route(&r, MANIFEST_WEB, 0, 1);
	assert_int_equal(seen.rc, 0);
	assert_false(r.all_ready);
	assert_string_equal(r.objects[0].reason, "0/2 pods ready");
	rollback_verify_dispose(&r);
}

static volatile sig_atomic_t handler_saw;

static void test_handler(int sig)
{
	handler_saw = sig;
}

static void test_rollback_verify__sigint_stops_the_wait(void **state)
{
	(void)state;
	reset_route();
	interrupt_on_pods = 1;
	struct sigaction sa, old;
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = test_handler;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, &old);
	handler_saw = 0;
	rollback_verify_result r;
	struct wait seen = verify_against_route(&r, MANIFEST_WEB, 30000, 1);
	sigaction(SIGINT, &old, NULL);
	assert_int_equal(seen.rc, CLI_EXIT_SIGINT);
	assert_false(r.all_ready);
	assert_true(r.elapsed_ms < 5000);
	assert_non_null(strstr(seen.errors, "error: verifying the rollback: interrupted by SIGINT"));
	/* the program's own handler hears of it too */
	assert_int_equal(handler_saw, SIGINT);
	rollback_verify_dispose(&r);
}

/* ---- reports ------------------------------------------------------------------------------------------------- */

static void sample_result(rollback_verify_result *r, rollback_verify_object objects[2])
{
	memset(objects, 0, 2 * sizeof(*objects));
	snprintf(objects[0].kind, sizeof(objects[0].kind), "Deployment");
	snprintf(objects[0].ns, sizeof(objects[0].ns), "ns");
	snprintf(objects[0].name, sizeof(objects[0].name), "web");
	snprintf(objects[0].reason, sizeof(objects[0].reason),
	         "0/2 pods ready: pod web-abc: CrashLoopBackOff (back-off restarting failed container)");
	snprintf(objects[1].kind, sizeof(objects[1].kind), "PersistentVolumeClaim");
	snprintf(objects[1].ns, sizeof(objects[1].ns), "ns");
	snprintf(objects[1].name, sizeof(objects[1].name), "data");
	objects[1].ready = 1;
	r->objects = objects;
	r->count = 2;
	r->all_ready = 0;
	r->elapsed_ms = 61500;
}

static void test_rollback_verify__json_report(void **state)
{
	(void)state;
	rollback_verify_object objects[2];
	rollback_verify_result r;
	sample_result(&r, objects);
	json_t *doc = rollback_verify_json(&r);
	assert_non_null(doc);
	json_t *want = J("{'ready':false,'elapsedMs':61500,'objects':["
	                 "{'kind':'Deployment','namespace':'ns','name':'web','ready':false,'reason':"
	                 "'0/2 pods ready: pod web-abc: CrashLoopBackOff (back-off restarting failed container)'},"
	                 "{'kind':'PersistentVolumeClaim','namespace':'ns','name':'data','ready':true,'reason':''}]}");
	if (!json_equal(doc, want)) {
		char *text = json_dumps(doc, JSON_SORT_KEYS);
		fail_msg("got %s", text);
	}
	json_decref(doc);

	for (long n = 1; n < 100; n++) {
		test_alloc_fail_at(n);
		doc = rollback_verify_json(&r);
		test_alloc_fail_at(0);
		if (doc) {
			assert_true(json_equal(doc, want));
			json_decref(doc);
			break;
		}
	}
}

static void test_rollback_verify__text_report(void **state)
{
	(void)state;
	rollback_verify_object objects[2];
	rollback_verify_result r;
	sample_result(&r, objects);
	char *text = NULL;
	size_t len = 0;
	FILE *stream = open_memstream(&text, &len);
	assert_non_null(stream);
	rollback_verify_print(&r, stream);
	fclose(stream);
	assert_string_equal(text, "deployment/web: not ready: 0/2 pods ready: pod web-abc: CrashLoopBackOff (back-off "
	                          "restarting failed container)\n"
	                          "persistentvolumeclaim/data: ready\n");
	free(text);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test_teardown(test_rollback_verify__deployment, free_fixtures),
	        cmocka_unit_test_teardown(test_rollback_verify__statefulset, free_fixtures),
	        cmocka_unit_test_teardown(test_rollback_verify__daemonset, free_fixtures),
	        cmocka_unit_test_teardown(test_rollback_verify__job, free_fixtures),
	        cmocka_unit_test_teardown(test_rollback_verify__pvc_and_other_kinds, free_fixtures),
	        cmocka_unit_test_teardown(test_rollback_verify__pod_reasons, free_fixtures),
	        cmocka_unit_test_teardown(test_rollback_verify__selector_expressions, free_fixtures),
	        cmocka_unit_test_teardown(test_rollback_verify__reason_fits_small_buffers, free_fixtures),
	        cmocka_unit_test_teardown(test_rollback_verify__waits_until_ready, free_fixtures),
	        cmocka_unit_test_teardown(test_rollback_verify__times_out_with_the_reason, free_fixtures),
	        cmocka_unit_test_teardown(test_rollback_verify__failed_job_stops_early, free_fixtures),
	        cmocka_unit_test_teardown(test_rollback_verify__one_list_per_kind_and_namespace, free_fixtures),
	        cmocka_unit_test_teardown(test_rollback_verify__ready_kinds_are_not_listed_again, free_fixtures),
	        cmocka_unit_test_teardown(test_rollback_verify__nothing_to_verify, free_fixtures),
	        cmocka_unit_test_teardown(test_rollback_verify__forbidden_list_is_an_api_error, free_fixtures),
	        cmocka_unit_test_teardown(test_rollback_verify__forbidden_pods_only_cost_the_reason, free_fixtures),
	        cmocka_unit_test_teardown(test_rollback_verify__sigint_stops_the_wait, free_fixtures),
	        cmocka_unit_test_teardown(test_rollback_verify__json_report, free_fixtures),
	        cmocka_unit_test_teardown(test_rollback_verify__text_report, free_fixtures),
	};
	return cmocka_run_group_tests(tests, test_tmpdir_setup, test_tmpdir_teardown);
}
