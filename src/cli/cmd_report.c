/* cmd_report.c — `seqlift report` (not implemented yet). */
#include "cli/commands.h"
#include "seqlift/util.h"

int sl_cmd_report(int argc, char **argv)
{
    (void)argc;
    (void)argv;
    sl_log_error("'seqlift report' is not implemented yet");
    return SL_EXIT_ERROR;
}
