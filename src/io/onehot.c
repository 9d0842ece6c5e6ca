/* onehot.c — base classes, one-hot encoding and reverse complement. */
#include <string.h>

#include "io/io_internal.h"

#define B SL_BASE_BAD
#define X SL_BASE_AMBIG
/* A/C/G/T -> 0..3; N and IUPAC codes (RYKMSWBDHV) -> X, in either case. */
const uint8_t sl_io_base_class[256] = {
    B, B, B, B, B, B, B, B, B, B, B, B, B, B, B, B, B, B, B, B, B, B, B, B, B, B, B, B, B, B, B, B,
    B, B, B, B, B, B, B, B, B, B, B, B, B, B, B, B, B, B, B, B, B, B, B, B, B, B, B, B, B, B, B, B,
    /* @  A  B  C  D  E  F  G  H  I  J  K  L  M  N  O  P  Q  R  S  T  U  V  W  X  Y  Z */
    B, 0, X, 1, X, B, B, 2, X, B, B, X, B, X, X, B, B, B, X, X, 3, B, X, X, B, X, B, B, B, B, B, B,
    B, 0, X, 1, X, B, B, 2, X, B, B, X, B, X, X, B, B, B, X, X, 3, B, X, X, B, X, B, B, B, B, B, B,
    B, B, B, B, B, B, B, B, B, B, B, B, B, B, B, B, B, B, B, B, B, B, B, B, B, B, B, B, B, B, B, B,
    B, B, B, B, B, B, B, B, B, B, B, B, B, B, B, B, B, B, B, B, B, B, B, B, B, B, B, B, B, B, B, B,
    B, B, B, B, B, B, B, B, B, B, B, B, B, B, B, B, B, B, B, B, B, B, B, B, B, B, B, B, B, B, B, B,
    B, B, B, B, B, B, B, B, B, B, B, B, B, B, B, B, B, B, B, B, B, B, B, B, B, B, B, B, B, B, B, B,
};
#undef B
#undef X

int sl_onehot(const char *seq, int64_t len, float *out, int64_t *bad_pos)
{
    memset(out, 0, (size_t)len * SL_NBASES * sizeof(float));
    for (int64_t i = 0; i < len; i++) {
        int c = sl_io_base_class[(uint8_t)seq[i]];
        if (c < SL_NBASES) {
            out[i * SL_NBASES + c] = 1.0f;
        } else if (c == SL_BASE_BAD) {
            if (bad_pos) *bad_pos = i;
            return -1;
        }
    }
    return 0;
}

/* Complement keeping case; 0 means "not a base, keep the byte". */
static const char comp_table[256] = {
    ['A'] = 'T', ['C'] = 'G', ['G'] = 'C', ['T'] = 'A', ['R'] = 'Y', ['Y'] = 'R', ['K'] = 'M',
    ['M'] = 'K', ['S'] = 'S', ['W'] = 'W', ['B'] = 'V', ['D'] = 'H', ['H'] = 'D', ['V'] = 'B',
    ['N'] = 'N', ['a'] = 't', ['c'] = 'g', ['g'] = 'c', ['t'] = 'a', ['r'] = 'y', ['y'] = 'r',
    ['k'] = 'm', ['m'] = 'k', ['s'] = 's', ['w'] = 'w', ['b'] = 'v', ['d'] = 'h', ['h'] = 'd',
    ['v'] = 'b', ['n'] = 'n',
};

static inline char comp(char c)
{
    char d = comp_table[(uint8_t)c];
    return d ? d : c;
}

void sl_revcomp(char *seq, int64_t len)
{
    for (int64_t i = 0, j = len - 1; i <= j; i++, j--) {
        char a = comp(seq[i]);
        seq[i] = comp(seq[j]);
        seq[j] = a;
    }
}
