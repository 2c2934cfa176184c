#ifndef GRADTRACE_KERNELS_H
#define GRADTRACE_KERNELS_H

/// The tensor engine's matrix product, on raw buffers, with one summation order for every path.
///
/// Every output element is computed as
///     acc = +0.0;  for p in 0 ..< k:  acc = fma(A(i, p), B(p, j), acc)
/// (one rounding per step, p ascending), whichever instruction set runs it and however the output
/// is split among threads: the AVX-512, AVX2/FMA and portable paths give the same bytes.

/// The kernel paths, best last.
enum { GT_PATH_PORTABLE = 0, GT_PATH_AVX2 = 1, GT_PATH_AVX512 = 2 };

/// The best path this CPU runs (CPUID, checked once).
int gt_kernel_best_path(void);

/// The path products use now: the best one, or the one set by `gt_kernel_set_path` or the
/// GRADTRACE_KERNEL environment variable (`portable`, `avx2`, `avx512`), lowered to what the CPU runs.
int gt_kernel_path(void);

/// Forces a path (lowered to what the CPU runs); -1 returns to the automatic choice. Returns the path now in use.
int gt_kernel_set_path(int path);

/// The threads a product may use: the online cores, the GRADTRACE_THREADS environment variable, or
/// what `gt_kernel_set_threads` set (0 returns to the default). Results never depend on it.
long gt_kernel_threads(void);
long gt_kernel_set_threads(long threads);

/// How many parts a product of `m × n` outputs over `k` is split into for `threads` threads (1 when small).
long gt_gemm_parts(long m, long n, long k, long threads);

/// Part `part` of `parts` of C[m×n] = A·B, where A(i, p) = a[i*ars + p*acs] and B(p, j) = b[p*brs + j*bcs];
/// C is row-major with row stride `ldc` and is overwritten. Parts write disjoint blocks of C, so they
/// may run on different threads at once. `path` is a value of `gt_kernel_path()`.
void gt_gemm_part(int path, long m, long n, long k,
                  const double *a, long ars, long acs,
                  const double *b, long brs, long bcs,
                  double *c, long ldc, long part, long parts);

#endif
