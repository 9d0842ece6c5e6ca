/* cmd_seqlets.c — `seqlift seqlets` (not implemented yet). */
#include "cli/commands.h"
#include "seqlift/util.h"

int sl_cmd_seqlets(int argc, char **argv)
{
    (void)argc;
    (void)argv;
    sl_log_error("'seqlift seqlets' is not implemented yet");
    return SL_EXIT_ERROR;
}
