/* cmd_seqlets.c — `seqlift seqlets`: seqlets (and best motif matches) as BED and TSV
 * from the arrays `seqlift score --npz PREFIX` wrote. The runner is shared with
 * `seqlift report` (cmd_report.c). */
#include "cli/commands.h"


int sl_cmd_seqlets(int argc, char **argv)
{
    return sl_cmd_motif_run(argc, argv, 1);
}
