/* embed.c — a program built against an installed seqlift (tests/install/test_install.sh):
 * prints sl_version(), then runs the model on one sequence and prints the output values as
 * `seqlift predict -s` does (header, then NAME and every value with %.9g). Valid C and C++.
 * Usage: embed MODEL.json NAME SEQUENCE */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <seqlift/model.h>
#include <seqlift/seqio.h>
#include <seqlift/version.h>

int main(int argc, char **argv)
{
    if (argc != 4) {
        fprintf(stderr, "usage: embed MODEL.json NAME SEQUENCE\n");
        return 2;
    }
    printf("seqlift %s\n", sl_version());
    if (strcmp(sl_version(), SEQLIFT_VERSION_STRING) != 0) return 1;
    sl_net_t *net = sl_net_load(argv[1]);
    if (!net) return 1;
    int64_t len = (int64_t)strlen(argv[3]), bad;
    float *x = (float *)malloc((size_t)len * 4 * sizeof(float));
    sl_acts_t *a = sl_acts_create(net, 1);
    int ret = 1;
    if (x && a && len == net->in_len && sl_onehot(argv[3], len, x, &bad) == 0 && sl_net_forward(net, a, x, 1) == 0) {
        printf("name");
        char label[256];
        for (size_t j = 0; j < sl_net_n_values(net); j++) {
            sl_net_value_label(net, j, label, sizeof(label));
            printf("\t%s", label);
        }
        printf("\tregion_index\n%s", argv[2]); /* the one row is region 0 */
        for (int o = 0; o < net->n_outputs; o++) {
            const sl_layer_t *L = &net->layers[net->output_layer[o]];
            for (size_t k = 0; k < sl_layer_size(L); k++) printf("\t%.9g", a->act[net->output_layer[o]][k]);
        }
        printf("\t0\n");
        ret = 0;
    }
    sl_acts_destroy(a);
    free(x);
    sl_net_destroy(net);
    return ret;
}
