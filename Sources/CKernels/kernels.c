// The matrix product behind the tensor engine: packed panels and a register-blocked micro-kernel per
// instruction set (AVX-512, AVX2/FMA, portable C), chosen at run time. See gt_kernels.h for the
// summation order every path keeps.
#include "gt_kernels.h"

#include <math.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#if defined(__x86_64__) || defined(__i386__)
#include <cpuid.h>
#include <immintrin.h>
#define GT_X86 1
#endif

// MARK: - Choosing the path

#if GT_X86
static uint64_t gt_xgetbv(void) {
    uint32_t lo, hi;
    __asm__ volatile("xgetbv" : "=a"(lo), "=d"(hi) : "c"(0));
    return ((uint64_t)hi << 32) | lo;
}
#endif

static int detect_best(void) {
#if GT_X86
    unsigned a, b, c, d;
    if (!__get_cpuid(1, &a, &b, &c, &d)) return GT_PATH_PORTABLE;
    int fma = (c >> 12) & 1, osxsave = (c >> 27) & 1, avx = (c >> 28) & 1;
    if (!(fma && osxsave && avx)) return GT_PATH_PORTABLE;
    uint64_t xcr0 = gt_xgetbv();
    if ((xcr0 & 0x6) != 0x6) return GT_PATH_PORTABLE;  // the OS saves XMM and YMM state
    if (!__get_cpuid_count(7, 0, &a, &b, &c, &d)) return GT_PATH_PORTABLE;
    int avx2 = (b >> 5) & 1, avx512f = (b >> 16) & 1;
    if (!avx2) return GT_PATH_PORTABLE;
    if (avx512f && (xcr0 & 0xE6) == 0xE6) return GT_PATH_AVX512;  // opmask and ZMM state saved too
    return GT_PATH_AVX2;
#else
    return GT_PATH_PORTABLE;
#endif
}

static atomic_int best_path = -1;
/// -2: not read yet; -1: automatic; otherwise the requested path.
static atomic_int requested_path = -2;

int gt_kernel_best_path(void) {
    int b = atomic_load(&best_path);
    if (b < 0) { b = detect_best(); atomic_store(&best_path, b); }
    return b;
}

int gt_kernel_path(void) {
    int r = atomic_load(&requested_path);
    if (r == -2) {
        const char *e = getenv("GRADTRACE_KERNEL");
        r = -1;
        if (e && strcmp(e, "portable") == 0) r = GT_PATH_PORTABLE;
        else if (e && strcmp(e, "avx2") == 0) r = GT_PATH_AVX2;
        else if (e && strcmp(e, "avx512") == 0) r = GT_PATH_AVX512;
        atomic_store(&requested_path, r);
    }
    int best = gt_kernel_best_path();
    return r < 0 || r > best ? best : r;
}

int gt_kernel_set_path(int path) {
    atomic_store(&requested_path, path < 0 ? -1 : path);
    return gt_kernel_path();
}

static atomic_long requested_threads = -1;

long gt_kernel_threads(void) {
    long t = atomic_load(&requested_threads);
    if (t < 0) {
        const char *e = getenv("GRADTRACE_THREADS");
        t = e ? strtol(e, NULL, 10) : 0;
        if (t < 0 || t > 256) t = 0;
        atomic_store(&requested_threads, t);
    }
    if (t == 0) {
        long cores = sysconf(_SC_NPROCESSORS_ONLN);
        return cores > 0 ? cores : 1;
    }
    return t;
}

long gt_kernel_set_threads(long threads) {
    atomic_store(&requested_threads, threads > 0 && threads <= 256 ? threads : 0);
    return gt_kernel_threads();
}

// MARK: - Micro-kernels
//
// Each computes an MR × NR tile over all k: ap holds A's rows of the tile interleaved (ap[p*MR + r]),
// bp B's columns (bp[p*NR + j]); accumulators start at +0 and take one fused multiply-add per p.

typedef void (*ukr_fn)(long k, const double *ap, const double *bp, double *c, long ldc);
typedef struct { int mr, nr; ukr_fn ukr; } kernel;

#define P_MR 4
#define P_NR 4
static void ukr_portable(long k, const double *restrict ap, const double *restrict bp, double *restrict c, long ldc) {
    double acc[P_MR][P_NR] = {{0}};
    for (long p = 0; p < k; p++) {
        const double *av = ap + p * P_MR, *bv = bp + p * P_NR;
        for (int r = 0; r < P_MR; r++)
            for (int j = 0; j < P_NR; j++) acc[r][j] = fma(av[r], bv[j], acc[r][j]);
    }
    for (int r = 0; r < P_MR; r++)
        for (int j = 0; j < P_NR; j++) c[r * ldc + j] = acc[r][j];
}

#if GT_X86
#define A2_MR 6
#define A2_NR 8
__attribute__((target("avx2,fma")))
static void ukr_avx2(long k, const double *restrict ap, const double *restrict bp, double *restrict c, long ldc) {
    __m256d c00 = _mm256_setzero_pd(), c01 = c00, c10 = c00, c11 = c00, c20 = c00, c21 = c00,
            c30 = c00, c31 = c00, c40 = c00, c41 = c00, c50 = c00, c51 = c00;
    for (long p = 0; p < k; p++) {
        __m256d b0 = _mm256_loadu_pd(bp), b1 = _mm256_loadu_pd(bp + 4), a;
        a = _mm256_broadcast_sd(ap + 0); c00 = _mm256_fmadd_pd(a, b0, c00); c01 = _mm256_fmadd_pd(a, b1, c01);
        a = _mm256_broadcast_sd(ap + 1); c10 = _mm256_fmadd_pd(a, b0, c10); c11 = _mm256_fmadd_pd(a, b1, c11);
        a = _mm256_broadcast_sd(ap + 2); c20 = _mm256_fmadd_pd(a, b0, c20); c21 = _mm256_fmadd_pd(a, b1, c21);
        a = _mm256_broadcast_sd(ap + 3); c30 = _mm256_fmadd_pd(a, b0, c30); c31 = _mm256_fmadd_pd(a, b1, c31);
        a = _mm256_broadcast_sd(ap + 4); c40 = _mm256_fmadd_pd(a, b0, c40); c41 = _mm256_fmadd_pd(a, b1, c41);
        a = _mm256_broadcast_sd(ap + 5); c50 = _mm256_fmadd_pd(a, b0, c50); c51 = _mm256_fmadd_pd(a, b1, c51);
        ap += A2_MR; bp += A2_NR;
    }
    _mm256_storeu_pd(c + 0 * ldc, c00); _mm256_storeu_pd(c + 0 * ldc + 4, c01);
    _mm256_storeu_pd(c + 1 * ldc, c10); _mm256_storeu_pd(c + 1 * ldc + 4, c11);
    _mm256_storeu_pd(c + 2 * ldc, c20); _mm256_storeu_pd(c + 2 * ldc + 4, c21);
    _mm256_storeu_pd(c + 3 * ldc, c30); _mm256_storeu_pd(c + 3 * ldc + 4, c31);
    _mm256_storeu_pd(c + 4 * ldc, c40); _mm256_storeu_pd(c + 4 * ldc + 4, c41);
    _mm256_storeu_pd(c + 5 * ldc, c50); _mm256_storeu_pd(c + 5 * ldc + 4, c51);
}

#define A5_MR 8
#define A5_NR 16
__attribute__((target("avx512f")))
static void ukr_avx512(long k, const double *restrict ap, const double *restrict bp, double *restrict c, long ldc) {
    __m512d c00 = _mm512_setzero_pd(), c01 = c00, c10 = c00, c11 = c00, c20 = c00, c21 = c00, c30 = c00, c31 = c00,
            c40 = c00, c41 = c00, c50 = c00, c51 = c00, c60 = c00, c61 = c00, c70 = c00, c71 = c00;
    for (long p = 0; p < k; p++) {
        __m512d b0 = _mm512_loadu_pd(bp), b1 = _mm512_loadu_pd(bp + 8), a;
        a = _mm512_set1_pd(ap[0]); c00 = _mm512_fmadd_pd(a, b0, c00); c01 = _mm512_fmadd_pd(a, b1, c01);
        a = _mm512_set1_pd(ap[1]); c10 = _mm512_fmadd_pd(a, b0, c10); c11 = _mm512_fmadd_pd(a, b1, c11);
        a = _mm512_set1_pd(ap[2]); c20 = _mm512_fmadd_pd(a, b0, c20); c21 = _mm512_fmadd_pd(a, b1, c21);
        a = _mm512_set1_pd(ap[3]); c30 = _mm512_fmadd_pd(a, b0, c30); c31 = _mm512_fmadd_pd(a, b1, c31);
        a = _mm512_set1_pd(ap[4]); c40 = _mm512_fmadd_pd(a, b0, c40); c41 = _mm512_fmadd_pd(a, b1, c41);
        a = _mm512_set1_pd(ap[5]); c50 = _mm512_fmadd_pd(a, b0, c50); c51 = _mm512_fmadd_pd(a, b1, c51);
        a = _mm512_set1_pd(ap[6]); c60 = _mm512_fmadd_pd(a, b0, c60); c61 = _mm512_fmadd_pd(a, b1, c61);
        a = _mm512_set1_pd(ap[7]); c70 = _mm512_fmadd_pd(a, b0, c70); c71 = _mm512_fmadd_pd(a, b1, c71);
        ap += A5_MR; bp += A5_NR;
    }
    _mm512_storeu_pd(c + 0 * ldc, c00); _mm512_storeu_pd(c + 0 * ldc + 8, c01);
    _mm512_storeu_pd(c + 1 * ldc, c10); _mm512_storeu_pd(c + 1 * ldc + 8, c11);
    _mm512_storeu_pd(c + 2 * ldc, c20); _mm512_storeu_pd(c + 2 * ldc + 8, c21);
    _mm512_storeu_pd(c + 3 * ldc, c30); _mm512_storeu_pd(c + 3 * ldc + 8, c31);
    _mm512_storeu_pd(c + 4 * ldc, c40); _mm512_storeu_pd(c + 4 * ldc + 8, c41);
    _mm512_storeu_pd(c + 5 * ldc, c50); _mm512_storeu_pd(c + 5 * ldc + 8, c51);
    _mm512_storeu_pd(c + 6 * ldc, c60); _mm512_storeu_pd(c + 6 * ldc + 8, c61);
    _mm512_storeu_pd(c + 7 * ldc, c70); _mm512_storeu_pd(c + 7 * ldc + 8, c71);
}
#endif

static kernel kernel_for(int path) {
#if GT_X86
    if (path == GT_PATH_AVX512) return (kernel){A5_MR, A5_NR, ukr_avx512};
    if (path == GT_PATH_AVX2) return (kernel){A2_MR, A2_NR, ukr_avx2};
#endif
    (void)path;
    return (kernel){P_MR, P_NR, ukr_portable};
}

// MARK: - Packing and the loops around the micro-kernel

/// Rows i0 ..< i0+rows of A (padded with zeros to mr), as ap[p*mr + r].
static void pack_a(double *restrict ap, const double *a, long ars, long acs, long i0, long rows, long k, int mr) {
    for (long p = 0; p < k; p++) {
        double *d = ap + p * mr;
        const double *s = a + i0 * ars + p * acs;
        long r = 0;
        for (; r < rows; r++) d[r] = s[r * ars];
        for (; r < mr; r++) d[r] = 0;
    }
}

/// Columns j0 ..< j0+cols of B (padded with zeros to nr), as bp[p*nr + j].
static void pack_b(double *restrict bp, const double *b, long brs, long bcs, long j0, long cols, long k, int nr) {
    for (long p = 0; p < k; p++) {
        double *d = bp + p * nr;
        const double *s = b + p * brs + j0 * bcs;
        long j = 0;
        if (bcs == 1) { memcpy(d, s, (size_t)cols * sizeof(double)); j = cols; }
        else for (; j < cols; j++) d[j] = s[j * bcs];
        for (; j < nr; j++) d[j] = 0;
    }
}

/// Products below this many multiply-adds run as one part (handing work to threads costs more).
#define GT_PARALLEL_WORK (1L << 18)

long gt_gemm_parts(long m, long n, long k, long threads) {
    if (threads <= 1 || m * n * (k > 0 ? k : 1) < GT_PARALLEL_WORK) return 1;
    long tiles = (m > n ? m : n) / 8;
    if (tiles < 1) tiles = 1;
    return threads < tiles ? threads : tiles;
}

static void *alloc_doubles(long count) {
    size_t bytes = ((size_t)(count > 0 ? count : 1) * sizeof(double) + 63) & ~(size_t)63;
    return aligned_alloc(64, bytes);
}

void gt_gemm_part(int path, long m, long n, long k,
                  const double *a, long ars, long acs,
                  const double *b, long brs, long bcs,
                  double *c, long ldc, long part, long parts) {
    if (m <= 0 || n <= 0) return;
    kernel kr = kernel_for(path);
    const long mr = kr.mr, nr = kr.nr;
    const long mt = (m + mr - 1) / mr, nt = (n + nr - 1) / nr;
    // The part's tiles: a run of row panels or of column panels (whichever dimension has more).
    long r0 = 0, r1 = mt, c0 = 0, c1 = nt;
    if (parts > 1) {
        if (nt >= mt) { c0 = part * nt / parts; c1 = (part + 1) * nt / parts; }
        else { r0 = part * mt / parts; r1 = (part + 1) * mt / parts; }
    }
    if (r0 >= r1 || c0 >= c1) return;
    // Row panels per block of A kept in cache (about 256 KiB of packed A).
    long block = (32768 / (k > 0 ? k : 1)) / mr;
    if (block < 1) block = 1;
    double *bpack = alloc_doubles((c1 - c0) * nr * k);
    double *apack = alloc_doubles(block * mr * k);
    double tile[16 * 16];
    if (!bpack || !apack) abort();
    for (long jt = c0; jt < c1; jt++) {
        long j0 = jt * nr, cols = n - j0 < nr ? n - j0 : nr;
        pack_b(bpack + (jt - c0) * nr * k, b, brs, bcs, j0, cols, k, (int)nr);
    }
    for (long ib = r0; ib < r1; ib += block) {
        long ie = ib + block < r1 ? ib + block : r1;
        for (long it = ib; it < ie; it++) {
            long i0 = it * mr, rows = m - i0 < mr ? m - i0 : mr;
            pack_a(apack + (it - ib) * mr * k, a, ars, acs, i0, rows, k, (int)mr);
        }
        for (long jt = c0; jt < c1; jt++) {
            long j0 = jt * nr, cols = n - j0 < nr ? n - j0 : nr;
            const double *bp = bpack + (jt - c0) * nr * k;
            for (long it = ib; it < ie; it++) {
                long i0 = it * mr, rows = m - i0 < mr ? m - i0 : mr;
                const double *ap = apack + (it - ib) * mr * k;
                double *cp = c + i0 * ldc + j0;
                if (rows == mr && cols == nr) {
                    kr.ukr(k, ap, bp, cp, ldc);
                } else {
                    kr.ukr(k, ap, bp, tile, nr);
                    for (long r = 0; r < rows; r++) memcpy(cp + r * ldc, tile + r * nr, (size_t)cols * sizeof(double));
                }
            }
        }
    }
    free(apack);
    free(bpack);
}
