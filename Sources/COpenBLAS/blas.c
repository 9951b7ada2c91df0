// blas.c — OpenBLAS opened with dlopen when gen first needs it, not linked.
//
// Linked, OpenBLAS is mapped, relocated and initialised by the dynamic loader before main: about
// 1.4–2.3 ms of every start-up on the 2-core machines here (a C program that only links it against
// one that does not, measured in models/vocoder/MODEL_CARD.md), a twentieth of a one-sentence
// `gen speech`, and it starts a thread pool that a short command then has to stop. It also reads
// its settings (OPENBLAS_CORETYPE, OPENBLAS_THREAD_TIMEOUT, OPENBLAS_NUM_THREADS) from the
// environment only then, which is why gen used to restart itself to set them. Opened here, the
// settings are put in the environment first (Engine.Runtime.configure), and gen opens it on a
// thread of its own while the main thread parses the command line and reads the models.
//
// The functions gen calls keep their cblas names: each opens the library (once; pthread_once)
// and calls its own. They are hidden (not in gen's dynamic symbol table): OpenBLAS calls
// openblas_get_num_threads and openblas_set_num_threads through its own PLT, which would otherwise
// bind to these, and one of them called while the library opens would wait on itself. A process
// that cannot open it stops with a message that names the package.
#define _GNU_SOURCE   // RTLD_DEEPBIND, before any system header
#include "COpenBLAS.h"

#include <dlfcn.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>

static void *library;
static const char *failure;
static pthread_once_t opened = PTHREAD_ONCE_INIT;

static void (*p_sgemm)(enum CBLAS_ORDER, enum CBLAS_TRANSPOSE, enum CBLAS_TRANSPOSE, blasint, blasint, blasint,
                       float, const float *, blasint, const float *, blasint, float, float *, blasint);
static void (*p_sgemv)(enum CBLAS_ORDER, enum CBLAS_TRANSPOSE, blasint, blasint, float, const float *, blasint,
                       const float *, blasint, float, float *, blasint);
static void (*p_set_num_threads)(int);
static int (*p_get_num_threads)(void);
static char *(*p_get_corename)(void);

static void open_library(void) {
    // libopenblas.so.0 is the runtime package's name (libopenblas0); the bare name is a
    // development install's. Its 13,922 symbol relocations (the kernel tables of every core it
    // knows) are looked up in its own scope first (RTLD_DEEPBIND): in the process's scope they
    // would first search gen and each of the 27 libraries it links, where a linked OpenBLAS came
    // fifth (measured: the loader's do_lookup_x went from 2.2% to 4.4% of a one-sentence `gen
    // speech`). Lazily bound, as a linked library is. The sanitizers refuse RTLD_DEEPBIND.
    int flags = RTLD_LAZY | RTLD_LOCAL | RTLD_DEEPBIND;
#if defined(__has_feature)
#if __has_feature(address_sanitizer) || __has_feature(thread_sanitizer) || __has_feature(memory_sanitizer)
    flags = RTLD_LAZY | RTLD_LOCAL;
#endif
#endif
    const char *names[] = {"libopenblas.so.0", "libopenblas.so"};
    for (size_t i = 0; i < sizeof names / sizeof names[0] && !library; i++) {
        library = dlopen(names[i], flags);
    }
    if (!library) {
        const char *why = dlerror();
        failure = why ? why : "libopenblas.so.0 not found";
        return;
    }
    *(void **)&p_sgemm = dlsym(library, "cblas_sgemm");
    *(void **)&p_sgemv = dlsym(library, "cblas_sgemv");
    *(void **)&p_set_num_threads = dlsym(library, "openblas_set_num_threads");
    *(void **)&p_get_num_threads = dlsym(library, "openblas_get_num_threads");
    *(void **)&p_get_corename = dlsym(library, "openblas_get_corename");
    if (!p_sgemm || !p_sgemv || !p_set_num_threads || !p_get_num_threads || !p_get_corename) {
        failure = "the library opened as libopenblas.so.0 lacks cblas_sgemm, cblas_sgemv or openblas_*: it is not OpenBLAS";
        library = NULL;
    }
}

/// Opens OpenBLAS once per process (a call while another is opening it waits for that one): 0 when
/// it is open, -1 when it cannot be (`failure` says why).
static int gk_blas_open(void) {
    pthread_once(&opened, open_library);
    return library ? 0 : -1;
}

static void *open_in_background(void *unused) {
    (void)unused;
    gk_blas_open();
    return NULL;
}

void gk_blas_open_in_background(void) {
    pthread_t thread;
    pthread_attr_t attributes;
    pthread_attr_init(&attributes);
    pthread_attr_setdetachstate(&attributes, PTHREAD_CREATE_DETACHED);
    // Without a thread (none to spare), the first product opens it instead.
    (void)pthread_create(&thread, &attributes, open_in_background, NULL);
    pthread_attr_destroy(&attributes);
}

void *gk_blas_symbol(const char *name) {
    return gk_blas_open() == 0 ? dlsym(library, name) : NULL;
}

// Every caller needs the library: without it there is nothing sensible to compute.
static void need(void) {
    if (gk_blas_open() == 0) return;
    fprintf(stderr, "error: cannot open OpenBLAS (%s). Install it: sudo apt-get install libopenblas0 "
                    "(`make deps` does).\n", failure);
    exit(3);
}

#define HIDDEN __attribute__((visibility("hidden")))

HIDDEN void cblas_sgemm(const enum CBLAS_ORDER order, const enum CBLAS_TRANSPOSE transA, const enum CBLAS_TRANSPOSE transB,
                 const blasint m, const blasint n, const blasint k, const float alpha, const float *a, const blasint lda,
                 const float *b, const blasint ldb, const float beta, float *c, const blasint ldc) {
    need();
    p_sgemm(order, transA, transB, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);
}

HIDDEN void cblas_sgemv(const enum CBLAS_ORDER order, const enum CBLAS_TRANSPOSE trans, const blasint m, const blasint n,
                 const float alpha, const float *a, const blasint lda, const float *x, const blasint incx,
                 const float beta, float *y, const blasint incy) {
    need();
    p_sgemv(order, trans, m, n, alpha, a, lda, x, incx, beta, y, incy);
}

HIDDEN void openblas_set_num_threads(int num_threads) {
    need();
    p_set_num_threads(num_threads);
}

HIDDEN int openblas_get_num_threads(void) {
    need();
    return p_get_num_threads();
}

HIDDEN char *openblas_get_corename(void) {
    need();
    return p_get_corename();
}
