/* cmd_predict.c — `seqlift predict` (not implemented yet). */
#include "cli/commands.h"
#include "seqlift/util.h"

int sl_cmd_predict(int argc, char **argv)
{
    (void)argc;
    (void)argv;
    sl_log_error("'seqlift predict' is not implemented yet");
    return SL_EXIT_ERROR;
}
