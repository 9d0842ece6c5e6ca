/* cmd_score.c — `seqlift score` (not implemented yet). */
#include "cli/commands.h"
#include "seqlift/util.h"

int sl_cmd_score(int argc, char **argv)
{
    (void)argc;
    (void)argv;
    sl_log_error("'seqlift score' is not implemented yet");
    return SL_EXIT_ERROR;
}
