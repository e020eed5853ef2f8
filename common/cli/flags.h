/* Command-line parsing shared by the three binaries: kubectl's connection
 * flags, the output and logging flags every command accepts, and the
 * flags each subcommand declares in its own table, in any position
 * (kubectl and helm pass a plugin its arguments untouched). */
#ifndef CLI_FLAGS_H
#define CLI_FLAGS_H

#include <stddef.h>

#include <kube/config.h>

#include "cli/output.h"

#ifdef __cplusplus
extern "C" {
#endif

struct cli_program;
struct cli_command;

enum cli_flag_type {
	CLI_FLAG_BOOL,     /* --force, --force=false; never takes the next argument */
	CLI_FLAG_STRING,   /* --image X, --image=X; repeated: the last one wins */
	CLI_FLAG_STRINGS,  /* repeatable: --set a --set b (not split on commas) */
	CLI_FLAG_INT,      /* --to 50; a decimal integer, checked while parsing */
	CLI_FLAG_DURATION, /* --pause 10m; kubectl's duration format, checked while parsing */
};

/* One flag a command declares. Tables end with an entry whose name is NULL.
 * A flag name must mean the same type in every command of a program,
 * because flags may come before the subcommand is known. */
typedef struct cli_flag {
	const char *name; /* long name without "--", e.g. "dry-run" */
	char shorthand;   /* e.g. 'f', or 0 */
	enum cli_flag_type type;
	const char *value_name; /* in help: "FILE", "DUR"; NULL = the type's name */
	const char *help;       /* one line */
	/* For STRING flags: the value when the flag is given without "=",
	 * e.g. "client" for --dry-run; such a flag never takes the next
	 * argument as its value. NULL: the value is required. */
	const char *no_opt_value;
} cli_flag;

/* The flags every command accepts, in the order help lists them. */
enum cli_common_flag {
	/* connection (kubectl's, "Global Flags" in help) */
	CLI_F_AS,
	CLI_F_AS_GROUP,
	CLI_F_AS_UID,
	CLI_F_CERTIFICATE_AUTHORITY,
	CLI_F_CLIENT_CERTIFICATE,
	CLI_F_CLIENT_KEY,
	CLI_F_CLUSTER,
	CLI_F_CONTEXT,
	CLI_F_INSECURE_SKIP_TLS_VERIFY,
	CLI_F_KUBECONFIG,
	CLI_F_NAMESPACE,
	CLI_F_REQUEST_TIMEOUT,
	CLI_F_SERVER,
	CLI_F_TLS_SERVER_NAME,
	CLI_F_TOKEN,
	CLI_F_USER,
	/* logging and terminal */
	CLI_F_NO_COLOR,
	CLI_F_V,
	/* per command, listed under its own "Flags" */
	CLI_F_ALL_NAMESPACES,
	CLI_F_OUTPUT,
	CLI_F_JSON,
	CLI_F_OUTPUT_FILE,
	CLI_F_HELP,
	CLI_F_VERSION,
	CLI_F_COUNT
};

/* The description of a common flag (for help). */
const cli_flag *cli_common_flag_get(enum cli_common_flag id);

/* The result of parsing one command line. Fields above "private" are the
 * API; strings point into argv or into storage owned by the cli_args. */
typedef struct cli_args {
	const struct cli_program *program;
	/* The subcommand to run; NULL when none was named (root help), or
	 * the program's default command when the first argument is not a
	 * command name. With help set, the command whose help to show. */
	const struct cli_command *command;

	kube_config_options config; /* connection flags; pass to kube_config_load */
	int all_namespaces;         /* -A/--all-namespaces */
	enum cli_output_format output;
	int output_given;        /* -o or --json was given */
	const char *output_file; /* --output-file, or NULL for stdout */
	int verbosity;           /* -v N */
	int verbosity_given;
	int no_color;  /* --no-color */
	int help;      /* -h/--help or the "help" subcommand */
	int version;   /* --version */
	int color;     /* colour on stdout (decided by cli_main) */
	int color_err; /* colour on stderr */

	const char **positional; /* arguments after the subcommand's name */
	size_t positional_count;

	char error[512]; /* the usage error when parsing fails */

	/* private */
	struct cli_flag_slot *slots; /* one per entry of command->flags */
	size_t slot_count;
	const char **as_groups; /* storage behind config.as_groups */
	size_t as_groups_cap;
	char **owned; /* strings copied from the environment */
	size_t owned_count;
} cli_args;

/* Parses argv for prog: finds the subcommand (the first non-flag argument
 * naming one of prog's commands or "help"; subcommand names win over
 * object names), then parses every argument, before or after it, against
 * the common flags and that command's flags. `--` ends the flags.
 * Returns 0; CLI_EXIT_USAGE with the message (no "error: " prefix) in
 * out->error, for an unknown flag or command, a missing or malformed value,
 * an output format or -A the command does not support, or the wrong number
 * of arguments; CLI_EXIT_FAIL when memory runs out. Prints nothing.
 * out is always initialised; release it with cli_args_dispose. */
int cli_args_parse(cli_args *out, const struct cli_program *prog, int argc, char **argv);

void cli_args_dispose(cli_args *args);

/* Values of the command's own flags, by long name. Asking for a name the
 * command does not declare is a programming error (asserted). */
int cli_flag_given(const cli_args *args, const char *name);
/* The last value of a STRING flag (its no_opt_value when given bare), or NULL. */
const char *cli_flag_string(const cli_args *args, const char *name);
/* A BOOL flag's value, 0 when not given. */
int cli_flag_bool(const cli_args *args, const char *name);
/* All values of a STRINGS flag in order; *out_values borrowed. */
size_t cli_flag_strings(const cli_args *args, const char *name, const char *const **out_values);
/* An INT flag's value, or fallback when not given. */
long cli_flag_long(const cli_args *args, const char *name, long fallback);
/* A DURATION flag's value in milliseconds, or fallback_ms when not given. */
long cli_flag_duration_ms(const cli_args *args, const char *name, long fallback_ms);

/* Parses Go's strconv.ParseBool spellings (1, t, T, true, TRUE, True, and
 * the false ones). Returns 0, or -1 when text is none of them. */
int cli_parse_bool(int *out, const char *text);

#ifdef __cplusplus
}
#endif
#endif
