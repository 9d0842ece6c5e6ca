/* commands.h — one entry point per `seqlift <command>`; each lives in cmd_<name>.c.
 * argv[0] is the command name. Return the process exit code:
 * 0 success, 1 error (already reported on stderr), 2 bad usage. */
#ifndef SEQLIFT_CLI_COMMANDS_H
#define SEQLIFT_CLI_COMMANDS_H

#define SL_EXIT_OK 0
#define SL_EXIT_ERROR 1
#define SL_EXIT_USAGE 2

int sl_cmd_extract(int argc, char **argv);
int sl_cmd_predict(int argc, char **argv);
int sl_cmd_shuffle(int argc, char **argv);
int sl_cmd_score(int argc, char **argv);
int sl_cmd_seqlets(int argc, char **argv);
int sl_cmd_report(int argc, char **argv);
int sl_cmd_convert(int argc, char **argv);
int sl_cmd_merge(int argc, char **argv);
/* report and seqlets share one runner (cmd_report.c); seqlets_only skips the report. */
int sl_cmd_motif_run(int argc, char **argv, int seqlets_only);

/* ---- option helpers shared by the commands (cli_util.c) ---- */
#include "seqlift/score.h"
#include "seqlift/seqio.h"
#include "seqlift/util.h"
/* The command whose --help the usage hints name (main.c sets it). */
void sl_cli_set_command(const char *name);
/* One line "error: <msg> (see 'seqlift <command> --help')"; returns SL_EXIT_USAGE. */
int sl_cli_bad(const char *fmt, ...) SL_PRINTF(1, 2);
/* getopt_long returned '?' (set opterr = 0): one line naming argv[optind - 1]. */
int sl_cli_unknown_option(char **argv, int optind_);
/* A --refs spec that parses (files it names are read now): 0. A bad spec string: one
 * line with the reference module's reason and the usage hint, SL_EXIT_USAGE; a file it
 * names that cannot be read or is malformed: one line, SL_EXIT_ERROR. */
int sl_cli_refs(const char *spec);
/* Integer option value in [lo, hi]; else one error line naming --opt, and -1. */
int sl_cli_int(const char *opt, const char *s, long long lo, long long hi, long long *v);
/* --edge pad|skip|error; else one error line and -1. */
int sl_cli_edge(const char *s, sl_edge_t *edge);
/* Inputs are either -f GENOME and -b BED, or -s SEQS alone, and no stray arguments;
 * else one error line and -1 (the caller prints usage and returns SL_EXIT_USAGE). */
int sl_cli_check_inputs(int argc, char **argv, int optind_, const char *fa, const char *bed, const char *seqs);
/* A comma-separated list names no item twice (e.g. --target gata,gata); else one
 * error line naming --opt and the item, and -1. */
int sl_cli_check_list(const char *opt, const char *list);
/* `seqlift <cmd> --version` / -V: prints "seqlift <cmd> VERSION" on stdout, returns 0. */
int sl_cli_version(const char *cmd);
/* Create the directory an output file goes into (mkdir -p of its parent; "-" and
 * /dev/ paths are left alone); else one error line naming the path, and -1. */
int sl_cli_output_dirs(const char *path);
/* --shard K/N into *k, *n; else one error line and -1. */
int sl_cli_shard(const char *s, int *k, int *n);
/* The command line as one string (for run descriptors); malloc'd, NULL on no memory. */
char *sl_cli_command_line(int argc, char **argv);
/* The progress callback of a run (ud set for it): on a terminal, or when asked
 * (--progress); the summary also with -v; NULL with -q. */
sl_progress_f sl_cli_progress(int asked, void **ud);

#endif
