/* npz.h — numpy .npz archives of one float32 array (TF-MoDISco input), and a reader.
 *
 * Writer: one C-order float32 array stored uncompressed as "<name>.npy" in a ZIP file.
 * The stored entry is preallocated at open, so rows can be written in any order (and
 * from several threads at once, for disjoint rows: pwrite) and memory does not grow
 * with the number of rows. At close the CRC-32 is computed by one sequential re-read,
 * the headers are completed (ZIP64 records when a size or offset reaches 4 GiB) and the
 * temporary file is renamed onto the path. Rows never written read back as 0.
 * Timestamps are fixed (1980-01-01) so equal arrays give byte-identical files.
 *
 * Reader: stored (np.savez) and deflated (np.savez_compressed) entries, dtype
 * float32 or float64 (converted to float32), little or big endian, C order only.
 * Every size and offset is checked; a bad file gets one error line naming it.
 */
#ifndef SEQLIFT_NPZ_H
#define SEQLIFT_NPZ_H

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define SL_NPZ_MAX_DIM 8

typedef struct sl_npz_writer_s sl_npz_writer_t;

/* Flags for sl_npz_open_flags. */
#define SL_NPZ_FORCE_ZIP64 1u   /* test-only: ZIP64 records even for small arrays */

/* Create path (via a temporary file; "-", a device or a FIFO is refused) holding array_name ("arr_0" when NULL) of
 * shape[0..ndim) float32; ndim 1..SL_NPZ_MAX_DIM. A "row" is one index of the first
 * dimension (shape[1]*...*shape[ndim-1] floats). NULL on error (reported).
 * The caller owns the writer: sl_npz_close() or sl_npz_abort() frees it. */
sl_npz_writer_t *sl_npz_open(const char *path, const char *array_name, int ndim, const int64_t *shape);
sl_npz_writer_t *sl_npz_open_flags(const char *path, const char *array_name, int ndim,
                                   const int64_t *shape, unsigned flags);
/* Rows [first_row, first_row + n_rows) from data (n_rows * row size floats, C order).
 * Any order; thread-safe for disjoint rows. 0 / -1 (reported). */
int sl_npz_write_rows(sl_npz_writer_t *w, int64_t first_row, int64_t n_rows, const float *data);
/* Number of floats in one row. */
int64_t sl_npz_row_size(const sl_npz_writer_t *w);
/* A second, small entry "<name>.npy" after the array: text (UTF-8) as a 0-d numpy
 * unicode array ('<U<n>'; str(np.load(path)[name]) gives it back), written at prepare.
 * The array stays the first entry ("arr_0", what TF-MoDISco loads). 0 / -1 (reported). */
int sl_npz_set_note(sl_npz_writer_t *w, const char *name, const char *text);
#define SL_NPZ_NOTE "seqlift" /* the entry of a run's provenance line in its npz files */
/* Complete the archive and rename it into place; frees w. 0 / -1 (reported; the
 * temporary file is removed). Warns when some rows were never written.
 * Two-phase form (several outputs committed together): sl_npz_prepare completes,
 * closes and checks the temporary file (0 / -1 reported; w stays to be committed or
 * aborted), sl_npz_commit renames it into place and frees w (it prepares first when
 * needed; sl_npz_close is the same). */
int sl_npz_prepare(sl_npz_writer_t *w);
int sl_npz_commit(sl_npz_writer_t *w);
int sl_npz_close(sl_npz_writer_t *w);
/* Remove the temporary file and free w (w may be NULL). */
void sl_npz_abort(sl_npz_writer_t *w);

/* The path of one npz of a `seqlift score --npz PREFIX` run: PREFIX.<kind>.npz, or
 * PREFIX.<target>.<kind>.npz when target is not NULL, the target made file-name safe
 * by sl_file_name_char (the rule of every per-target file). Caller frees; NULL on
 * error (reported). */
char *sl_npz_target_path(const char *prefix, const char *target, const char *kind);

/* Read array `name` ("x" matches entry "x.npy"; NULL = the first entry) from an .npz.
 * On success *ndim, shape[0..*ndim) and *data (malloc'd, caller frees, C order float32)
 * are set and 0 is returned; -1 on error (reported, *data untouched). */
int sl_npz_read(const char *path, const char *name, int *ndim, int64_t shape[SL_NPZ_MAX_DIM],
                float **data);

#ifdef __cplusplus
}
#endif

#endif
