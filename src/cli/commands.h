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

#endif
