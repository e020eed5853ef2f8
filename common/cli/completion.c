/* The `completion` subcommand: the bash, zsh and fish scripts that
 * complete a binary run directly through its __complete answer, and, for
 * the kubectl plugins, `completion install`, which links
 * kubectl_complete-<plugin> to the binary so that kubectl >= 1.26 asks it
 * how to complete `kubectl <plugin> ...`. */
#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <kube/buf.h>

#include "cli/complete.h"
#include "cli/exit.h"
#include "cli/internal.h"

#define KUBECTL_PREFIX          "kubectl-"
#define KUBECTL_COMPLETE_PREFIX "kubectl_complete-"

/* ----- scripts ----- */

/* The shell function's name: "__kubectl_canary_complete". */
static void function_name(char *buf, size_t size, const char *binary)
{
	size_t n = (size_t)snprintf(buf, size, "__%s_complete", binary);
	for (size_t i = 0; i < n && i < size; i++)
		if (buf[i] == '-' || buf[i] == '.')
			buf[i] = '_';
}

/* Each script is written with "@F@" for the function and "@B@" for the
 * binary's name. */
static const char bash_script[] = "# bash completion for @B@ (from '@B@ completion bash').\n"
                                  "# Load it in the current shell:  source <(@B@ completion bash)\n"
                                  "@F@() {\n"
                                  "\tlocal -a words=() candidates=()\n"
                                  "\tlocal i w sep cur cword out line directive flag= value head= breaks\n"
                                  "\t# bash splits words at COMP_WORDBREAKS' \"=\" and \":\": join the pieces\n"
                                  "\tif declare -F _get_comp_words_by_ref >/dev/null 2>&1; then\n"
                                  "\t\t_get_comp_words_by_ref -n =: cur words cword\n"
                                  "\t\twords=(\"${words[@]:1:cword-1}\" \"$cur\")\n"
                                  "\telse\n"
                                  "\t\tline=${COMP_LINE-}\n"
                                  "\t\tfor ((i = 0; i <= COMP_CWORD; i++)); do\n"
                                  "\t\t\tw=${COMP_WORDS[i]}\n"
                                  "\t\t\tif [[ -n ${COMP_LINE-} ]]; then\n"
                                  "\t\t\t\tsep=${line%%[![:blank:]]*}\n"
                                  "\t\t\t\tline=${line#\"$sep\"}\n"
                                  "\t\t\t\tline=${line#\"$w\"}\n"
                                  "\t\t\telif [[ $w =~ ^[=:]+$ || ${COMP_WORDS[i-1]} =~ ^[=:]+$ ]]; then\n"
                                  "\t\t\t\tsep=\n"
                                  "\t\t\telse\n"
                                  "\t\t\t\tsep=\" \"\n"
                                  "\t\t\tfi\n"
                                  "\t\t\tif ((i > 1)) && [[ -z $sep ]]; then\n"
                                  "\t\t\t\twords[-1]+=$w\n"
                                  "\t\t\telif ((i > 0)); then\n"
                                  "\t\t\t\twords+=(\"$w\")\n"
                                  "\t\t\tfi\n"
                                  "\t\tdone\n"
                                  "\t\t[[ ${#words[@]} -gt 0 ]] || words=(\"\")\n"
                                  "\t\tcur=${words[-1]}\n"
                                  "\tfi\n"
                                  "\t# --flag=VALUE: the answers are bare values (cobra's protocol)\n"
                                  "\t[[ $cur == --*=* ]] && flag=${cur%%=*}=\n"
                                  "\tvalue=${cur#\"$flag\"}\n"
                                  "\t[[ $value == \"=\" ]] && value=\n"
                                  "\t# bash replaces only what follows the last \"=\" or \":\" of COMP_WORDBREAKS\n"
                                  "\tbreaks=${COMP_WORDBREAKS//[^=:]/}\n"
                                  "\t[[ -n $breaks ]] && head=${cur%\"${cur##*[$breaks]}\"}\n"
                                  "\tout=$(\"${COMP_WORDS[0]}\" __complete \"${words[@]}\" 2>/dev/null) || return 0\n"
                                  "\tdirective=${out##*$'\\n'}\n"
                                  "\tdirective=${directive#:}\n"
                                  "\t[[ $directive =~ ^[0-9]+$ ]] || directive=0\n"
                                  "\tCOMPREPLY=()\n"
                                  "\t(( directive & 1 )) && return 0\n"
                                  "\twhile IFS= read -r line; do\n"
                                  "\t\t[[ -z $line || $line == :* ]] && continue\n"
                                  "\t\tcandidates+=(\"${line%%$'\\t'*}\")\n"
                                  "\tdone <<<\"$out\"\n"
                                  "\tif (( directive & 2 )); then compopt -o nospace 2>/dev/null; fi\n"
                                  "\tif (( directive & 16 )); then\n"
                                  "\t\tcompopt -o filenames 2>/dev/null\n"
                                  "\t\tmapfile -t candidates < <(compgen -d -- \"$value\")\n"
                                  "\telif [[ ${#candidates[@]} -eq 0 ]] && (( (directive & 4) == 0 )); then\n"
                                  "\t\tcompopt -o filenames 2>/dev/null\n"
                                  "\t\tmapfile -t candidates < <(compgen -f -- \"$value\")\n"
                                  "\tfi\n"
                                  "\tfor w in \"${candidates[@]}\"; do\n"
                                  "\t\tw=$flag$w\n"
                                  "\t\tCOMPREPLY+=(\"${w#\"$head\"}\")\n"
                                  "\tdone\n"
                                  "}\n"
                                  "complete -F @F@ @B@\n";

static const char zsh_script[] =
        "#compdef @B@\n"
        "# zsh completion for @B@ (from '@B@ completion zsh').\n"
        "# Load it in the current shell (after compinit):  source <(@B@ completion zsh)\n"
        "# or save it as _@B@ in a directory of $fpath.\n"
        "@F@() {\n"
        "\tlocal out line value description directive flag=\n"
        "\tlocal -a lines candidates prefix\n"
        "\tout=$(\"${words[1]}\" __complete \"${(@)words[2,CURRENT]}\" 2>/dev/null) || return 1\n"
        "\tlines=(\"${(@f)out}\")\n"
        "\tdirective=${lines[-1]#:}\n"
        "\t[[ $directive == <-> ]] || directive=0\n"
        "\t(( directive & 1 )) && return 1\n"
        "\t# --flag=VALUE: the answers are bare values; the \"--flag=\" goes before them\n"
        "\t[[ ${words[CURRENT]} == --*=* ]] && flag=${words[CURRENT]%%=*}=\n"
        "\t[[ -n $flag ]] && prefix=(-P \"$flag\")\n"
        "\tfor line in \"${(@)lines[1,-2]}\"; do\n"
        "\t\t[[ -z $line ]] && continue\n"
        "\t\tvalue=${line%%$'\\t'*}\n"
        "\t\tdescription=\"\"\n"
        "\t\t[[ $line == *$'\\t'* ]] && description=${line#*$'\\t'}\n"
        "\t\tcandidates+=(\"${value//:/\\\\:}${description:+:$description}\")\n"
        "\tdone\n"
        "\tif (( directive & 16 )); then\n"
        "\t\t[[ -n $flag ]] && compset -P '*='\n"
        "\t\t_path_files -/\n"
        "\telif (( ${#candidates} == 0 )); then\n"
        "\t\t(( directive & 4 )) && return 1\n"
        "\t\t[[ -n $flag ]] && compset -P '*='\n"
        "\t\t_files\n"
        "\telif (( directive & 2 )); then\n"
        "\t\t_describe -t values 'values' candidates \"${(@)prefix}\" -S ''\n"
        "\telse\n"
        "\t\t_describe -t values 'values' candidates \"${(@)prefix}\"\n"
        "\tfi\n"
        "}\n"
        "if [[ ${funcstack[1]} == _@B@ ]]; then\n"
        "\t@F@ \"$@\"\n"
        "else\n"
        "\tcompdef @F@ @B@\n"
        "fi\n";

static const char fish_script[] = "# fish completion for @B@ (from '@B@ completion fish').\n"
                                  "# Load it in the current shell:  @B@ completion fish | source\n"
                                  "function @F@\n"
                                  "\tset -l words (commandline -opc)\n"
                                  "\tset -l current (commandline -ct)\n"
                                  "\tset -l out (command $words[1] __complete $words[2..-1] $current 2>/dev/null)\n"
                                  "\tor return\n"
                                  "\tset -l directive (string replace -r '^:' '' -- $out[-1])\n"
                                  "\tstring match -qr '^[0-9]+$' -- $directive\n"
                                  "\tor set directive 0\n"
                                  "\tset -e out[-1]\n"
                                  "\tif test (math \"bitand($directive, 1)\") -ne 0\n"
                                  "\t\treturn\n"
                                  "\tend\n"
                                  "\t# --flag=VALUE: the answers are bare values; the \"--flag=\" goes before them\n"
                                  "\tset -l flag (string match -r -- '^--[^=]*=' $current)\n"
                                  "\tset -l value (string replace -r -- '^--[^=]*=' '' $current)\n"
                                  "\tif test (math \"bitand($directive, 16)\") -ne 0\n"
                                  "\t\tset out (__fish_complete_directories \"$value\")\n"
                                  "\telse if test (count $out) -eq 0; and test (math \"bitand($directive, 4)\") -eq 0\n"
                                  "\t\tset out (__fish_complete_path \"$value\")\n"
                                  "\tend\n"
                                  "\tfor line in $out\n"
                                  "\t\tprintf '%s%s\\n' \"$flag\" $line\n"
                                  "\tend\n"
                                  "end\n"
                                  "complete -c @B@ -f -a '(@F@)'\n";

static void put_script(FILE *out, const char *script, const char *function, const char *binary)
{
	for (const char *p = script; *p;) {
		if (strncmp(p, "@F@", 3) == 0) {
			(void)fputs(function, out);
			p += 3;
		} else if (strncmp(p, "@B@", 3) == 0) {
			(void)fputs(binary, out);
			p += 3;
		} else {
			(void)fputc(*p++, out);
		}
	}
}

int cli_complete_script(FILE *out, const cli_program *prog, const char *shell)
{
	char function[160];
	const char *script = strcmp(shell, "bash") == 0   ? bash_script
	                     : strcmp(shell, "zsh") == 0  ? zsh_script
	                     : strcmp(shell, "fish") == 0 ? fish_script
	                                                  : NULL;
	if (!script)
		return -1;
	function_name(function, sizeof(function), prog->binary);
	put_script(out, script, function, prog->binary);
	return 0;
}

/* ----- install ----- */

/* The directory of the first executable called name on PATH, into buf;
 * 0, or -1 when there is none. */
static int find_on_path(char *buf, size_t size, const char *name)
{
	const char *path = getenv("PATH");
	while (path && *path) {
		size_t len = strcspn(path, ":");
		char candidate[PATH_MAX];
		struct stat st;
		if (len &&
		    (size_t)snprintf(candidate, sizeof(candidate), "%.*s/%s", (int)len, path, name) <
		            sizeof(candidate) &&
		    stat(candidate, &st) == 0 && S_ISREG(st.st_mode) && access(candidate, X_OK) == 0) {
			(void)snprintf(buf, size, "%.*s", (int)len, path);
			return 0;
		}
		path += len + (path[len] == ':');
	}
	return -1;
}

/* 1 when dir is one of PATH's directories (compared by inode). */
static int dir_on_path(const char *dir)
{
	struct stat want, got;
	char entry[PATH_MAX];
	if (stat(dir, &want) != 0)
		return 0;
	for (const char *path = getenv("PATH"); path && *path;) {
		size_t len = strcspn(path, ":");
		if (len && len < sizeof(entry)) {
			(void)snprintf(entry, sizeof(entry), "%.*s", (int)len, path);
			if (stat(entry, &got) == 0 && got.st_dev == want.st_dev && got.st_ino == want.st_ino)
				return 1;
		}
		path += len + (path[len] == ':');
	}
	return 0;
}

static int install(const cli_args *args)
{
	const cli_program *prog = args->program;
	const char *plugin = prog->binary + strlen(KUBECTL_PREFIX);
	const char *dir_flag = cli_flag_string(args, "dir");
	char self[PATH_MAX], dir[PATH_MAX], link_path[PATH_MAX], target[PATH_MAX], existing[PATH_MAX];
	struct stat st;

	ssize_t n = readlink("/proc/self/exe", self, sizeof(self) - 1);
	if (n <= 0) {
		cli_error("completion install: cannot find this binary's path: %s", strerror(errno));
		return CLI_EXIT_FAIL;
	}
	self[n] = '\0';
	if (dir_flag) {
		if (stat(dir_flag, &st) != 0 || !S_ISDIR(st.st_mode))
			return cli_usage_error(args, "--dir %s: not a directory", dir_flag);
		(void)snprintf(dir, sizeof(dir), "%s", dir_flag);
	} else if (find_on_path(dir, sizeof(dir), prog->binary) != 0) {
		char *slash = strrchr(self, '/');
		(void)snprintf(dir, sizeof(dir), "%.*s", (int)(slash - self), self);
	}
	if ((size_t)snprintf(link_path, sizeof(link_path), "%s/%s%s", dir, KUBECTL_COMPLETE_PREFIX, plugin) >=
	    sizeof(link_path)) {
		cli_error("completion install: the path in %s is too long", dir);
		return CLI_EXIT_USAGE;
	}
	/* Beside the plugin kubectl runs, the link names it relatively, so an
	 * upgrade that replaces kubectl-<plugin> (krew's links) carries the
	 * completion along; elsewhere it names this binary. */
	char beside[PATH_MAX + 64];
	(void)snprintf(beside, sizeof(beside), "%s/%s", dir, prog->binary);
	if (stat(beside, &st) == 0 && S_ISREG(st.st_mode) && access(beside, X_OK) == 0)
		(void)snprintf(target, sizeof(target), "%s", prog->binary);
	else
		(void)snprintf(target, sizeof(target), "%s", self);

	if (lstat(link_path, &st) == 0) {
		if (!S_ISLNK(st.st_mode)) {
			cli_error("%s exists and is not a link: not replacing it", link_path);
			cli_hint("remove it, or choose another directory with --dir");
			return CLI_EXIT_REFUSED;
		}
		ssize_t len = readlink(link_path, existing, sizeof(existing) - 1);
		existing[len > 0 ? len : 0] = '\0';
		const char *slash = strrchr(existing, '/');
		const char *existing_base = slash ? slash + 1 : existing;
		if (strcmp(existing, target) == 0) {
			(void)printf("%s already links to %s\n", link_path, target);
			return 0;
		}
		if (strcmp(existing_base, prog->binary) != 0) {
			cli_error("%s links to %s, not to %s: not replacing it", link_path, existing, prog->binary);
			cli_hint("remove it, or choose another directory with --dir");
			return CLI_EXIT_REFUSED;
		}
		/* an older link to the plugin: replaced in one rename */
		char temp[PATH_MAX + 32];
		(void)snprintf(temp, sizeof(temp), "%s.tmp%ld", link_path, (long)getpid());
		(void)unlink(temp);
		if (symlink(target, temp) != 0 || rename(temp, link_path) != 0) {
			cli_error("replace %s: %s", link_path, strerror(errno));
			(void)unlink(temp);
			return CLI_EXIT_FAIL;
		}
		(void)printf("replaced %s -> %s with %s -> %s\n", link_path, existing, link_path, target);
	} else {
		if (symlink(target, link_path) != 0) {
			cli_error("create %s: %s", link_path, strerror(errno));
			return CLI_EXIT_FAIL;
		}
		(void)printf("created %s -> %s\n", link_path, target);
	}
	if (!dir_on_path(dir))
		cli_warning("%s is not on PATH: kubectl finds %s%s only on PATH", dir, KUBECTL_COMPLETE_PREFIX, plugin);
	return 0;
}

/* ----- the command ----- */

static int completion_run(const cli_args *args)
{
	const char *what = args->positional[0];
	int kubectl_plugin = args->command == &cli_completion_command;
	if (kubectl_plugin && strcmp(what, "install") == 0)
		return install(args);
	if (kubectl_plugin && cli_flag_given(args, "dir"))
		return cli_usage_error(args, "--dir goes with 'completion install' only");
	if (cli_complete_script(stdout, args->program, what) != 0)
		return cli_usage_error(args, "unknown shell \"%s\": one of bash, zsh, fish%s", what,
		                       kubectl_plugin ? " (or install)" : "");
	return 0;
}

static void completion_complete(cli_completion *c, const cli_complete_request *req)
{
	static const char *const shells[] = {"bash", "zsh", "fish", NULL};
	if (req->flag)
		return; /* --dir: directories, from its value name */
	cli_complete_add_list(c, shells);
	if (req->command == &cli_completion_command)
		cli_complete_add(c, "install", "Link kubectl_complete-<plugin> to this binary for kubectl");
}

static const cli_flag completion_flags[] = {
        {"dir", 0, CLI_FLAG_STRING, "DIR",
         "With install: where to create the link (default: the directory of the plugin found first on PATH, "
         "such as krew's bin directory, else this binary's own)",
         NULL},
        {NULL, 0, 0, NULL, NULL, NULL},
};

const cli_command cli_completion_command = {
        .name = "completion",
        .usage = "completion bash|zsh|fish|install [--dir DIR]",
        .summary = "Shell completion: let kubectl complete the plugin, or print a bash, zsh or fish script",
        .description = "Shell completion.\n"
                       "\n"
                       "kubectl 1.26 or newer completes '{program} ...' by running a program called\n"
                       "kubectl_complete-<plugin> found on PATH; this binary answers when it runs under that\n"
                       "name. 'completion install' creates that link beside the plugin (krew's bin directory\n"
                       "after a krew install, or --dir DIR); it is idempotent and never replaces a file that is\n"
                       "not a link to the plugin (exit 5). Completion covers subcommands, flags, their values,\n"
                       "and names from the cluster (Deployments, namespaces, contexts from the kubeconfig).\n"
                       "\n"
                       "'completion bash|zsh|fish' prints a script that completes the plugin's binary run\n"
                       "directly (kubectl-<plugin> ...).",
        .examples = "  # Let kubectl complete '{program} ...' (kubectl 1.26 or newer)\n"
                    "  {program} completion install\n"
                    "\n"
                    "  # Create the link in another directory on PATH\n"
                    "  {program} completion install --dir ~/.local/bin\n"
                    "\n"
                    "  # Complete the binary run directly, in bash, zsh or fish\n"
                    "  source <({program} completion bash)\n"
                    "  source <({program} completion zsh)\n"
                    "  {program} completion fish | source",
        .flags = completion_flags,
        .min_args = 1,
        .max_args = 1,
        .run = completion_run,
        .complete = completion_complete,
};

const cli_command cli_helm_completion_command = {
        .name = "completion",
        .usage = "completion bash|zsh|fish",
        .summary = "Print a bash, zsh or fish completion script for the plugin's binary",
        .description = "Shell completion.\n"
                       "\n"
                       "Helm completes '{program} ...' itself ('helm completion bash' and the others) by\n"
                       "running the plugin's plugin.complete, which asks this binary: subcommands, flags,\n"
                       "release names and revisions from the cluster. Nothing to install.\n"
                       "\n"
                       "'completion bash|zsh|fish' prints a script that completes the plugin's binary run\n"
                       "directly (helm-rollback-safe ...).",
        .examples = "  # Complete '{program} ...': load Helm's own completion\n"
                    "  source <(helm completion bash)\n"
                    "\n"
                    "  # Complete the binary run directly, in bash, zsh or fish\n"
                    "  source <({program} completion bash)\n"
                    "  source <({program} completion zsh)\n"
                    "  {program} completion fish | source",
        .min_args = 1,
        .max_args = 1,
        .run = completion_run,
        .complete = completion_complete,
};
