/* main.c — `seqlift <command> [options]`, samtools-style dispatch. */
#include <htslib/hts.h>
#include <stdio.h>
#include <string.h>

#include "cli/commands.h"
#include "seqlift/util.h"

typedef struct {
    const char *name;
    int (*fn)(int, char **);
    const char *help;
} command_t;

static const command_t commands[] = {
    {"extract", sl_cmd_extract, "write the resized, strand-aware sequences the model will see (FASTA)"},
    {"predict", sl_cmd_predict, "run the model on regions or sequences (TSV of outputs)"},
    {"score", sl_cmd_score, "attribute every base with DeepLIFT or a comparison method"},
    {"shuffle", sl_cmd_shuffle, "k-mer preserving shuffles of FASTA records (references)"},
    {"seqlets", sl_cmd_seqlets, "call seqlets (high-contribution stretches) from scores"},
    {"report", sl_cmd_report, "motif-highlight report (HTML + JSON) from scored arrays"},
    {"convert", sl_cmd_convert, "convert a Keras .h5 / JSON + weights model to seqlift's format"},
    {"merge", sl_cmd_merge, "put the shards of a score/predict --shard K/N run back together"},
};
static const int n_commands = (int)(sizeof(commands) / sizeof(commands[0]));

static void usage(FILE *fp)
{
    fprintf(fp,
            "\nProgram: seqlift (DeepLIFT attribution for DNA sequence models)\n"
            "Version: %s\n\n"
            "Usage:   seqlift <command> [options]\n\n"
            "Commands:\n",
            SEQLIFT_VERSION);
    for (int i = 0; i < n_commands; i++)
        fprintf(fp, "  %-9s %s\n", commands[i].name, commands[i].help);
    fprintf(fp, "\nBefore the command: -q (errors only), -v (also progress; -vv debug).\n");
    fprintf(fp, "\nRun 'seqlift <command> --help' for a command's options.\n\n");
}

/* Global options before the command: -q errors only, -v adds info, -vv (or -v -v) debug.
 * Returns the index of the command word. */
static int log_options(int argc, char **argv)
{
    int i = 1;
    for (; i < argc; i++) {
        const char *a = argv[i];
        sl_log_level_t up = sl_log_get_level() < SL_LOG_INFO ? SL_LOG_INFO : SL_LOG_DEBUG;
        if (strcmp(a, "-q") == 0 || strcmp(a, "--quiet") == 0) sl_log_set_level(SL_LOG_ERROR);
        else if (strcmp(a, "-v") == 0 || strcmp(a, "--verbose") == 0) sl_log_set_level(up);
        else if (strcmp(a, "-vv") == 0) sl_log_set_level(SL_LOG_DEBUG);
        else break;
    }
    return i;
}

int main(int argc, char **argv)
{
    /* process-wide settings belong to the program, not the library: htslib's own
     * messages are silenced (every failure is reported once, by seqlift), and a
     * signal removes the temporary files of the outputs being written */
    hts_set_log_level(HTS_LOG_OFF);
    sl_tmp_install_signal_handlers();
    int cmd = log_options(argc, argv);
    argv[cmd - 1] = argv[0];
    argc -= cmd - 1;
    argv += cmd - 1;
    if (argc < 2) {
        usage(stderr);
        return SL_EXIT_USAGE;
    }
    if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0 || strcmp(argv[1], "help") == 0) {
        usage(stdout);
        return SL_EXIT_OK;
    }
    if (strcmp(argv[1], "--version") == 0 || strcmp(argv[1], "-V") == 0 || strcmp(argv[1], "version") == 0) {
        printf("seqlift %s\n", SEQLIFT_VERSION);
        return SL_EXIT_OK;
    }
    for (int i = 0; i < n_commands; i++)
        if (strcmp(argv[1], commands[i].name) == 0) {
            sl_cli_set_command(commands[i].name);
            /* `seqlift <command> --version` / -V, the same for every command */
            if (argc == 3 && (strcmp(argv[2], "--version") == 0 || strcmp(argv[2], "-V") == 0))
                return sl_cli_version(argv[1]);
            return commands[i].fn(argc - 1, argv + 1);
        }
    sl_log_error("unknown command '%s' (run 'seqlift --help')", argv[1]);
    return SL_EXIT_USAGE;
}
