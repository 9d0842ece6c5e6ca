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
    fprintf(fp, "\nRun 'seqlift <command> --help' for a command's options.\n\n");
}

int main(int argc, char **argv)
{
    /* process-wide settings belong to the program, not the library: htslib's own
     * messages are silenced (every failure is reported once, by seqlift), and a
     * signal removes the temporary files of the outputs being written */
    hts_set_log_level(HTS_LOG_OFF);
    sl_tmp_install_signal_handlers();
    if (argc < 2) {
        usage(stderr);
        return SL_EXIT_USAGE;
    }
    if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0 || strcmp(argv[1], "help") == 0) {
        usage(stdout);
        return SL_EXIT_OK;
    }
    if (strcmp(argv[1], "--version") == 0 || strcmp(argv[1], "version") == 0) {
        printf("seqlift %s\n", SEQLIFT_VERSION);
        return SL_EXIT_OK;
    }
    for (int i = 0; i < n_commands; i++)
        if (strcmp(argv[1], commands[i].name) == 0) {
            sl_cli_set_command(commands[i].name);
            return commands[i].fn(argc - 1, argv + 1);
        }
    sl_log_error("unknown command '%s' (run 'seqlift --help')", argv[1]);
    return SL_EXIT_USAGE;
}
