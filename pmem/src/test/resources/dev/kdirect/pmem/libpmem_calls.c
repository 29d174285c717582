/*
 * A stand-in for PMDK's libpmem.so.1, found first through LD_LIBRARY_PATH by a child JVM of LibpmemCallsTest:
 * appends every pmem_flush, pmem_drain and pmem_persist call to the file $KDIRECT_PMEM_CALLS ("name address
 * length", hex address), then makes the same call into the real library at $KDIRECT_REAL_LIBPMEM. It shows what
 * kdirect asked libpmem to write back and fence; what libpmem then executes (clwb, clflushopt or clflush, sfence)
 * is libpmem's. The real library is opened with RTLD_DEEPBIND: its pmem_persist calls its own pmem_flush and
 * pmem_drain, not these (JNA loads this one into the global scope).
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

static void *real(const char *name)
{
    static void *lib;
    if (lib == NULL && (lib = dlopen(getenv("KDIRECT_REAL_LIBPMEM"), RTLD_NOW | RTLD_LOCAL | RTLD_DEEPBIND)) == NULL) {
        fprintf(stderr, "libpmem_calls: %s\n", dlerror());
        abort();
    }
    void *f = dlsym(lib, name);
    if (f == NULL) {
        fprintf(stderr, "libpmem_calls: %s\n", dlerror());
        abort();
    }
    return f;
}

static void record(const char *name, const void *addr, size_t len)
{
    char line[96];
    int n = snprintf(line, sizeof line, "%s %lx %zu\n", name, (unsigned long) addr, len);
    int fd = open(getenv("KDIRECT_PMEM_CALLS"), O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0600);
    if (fd < 0 || write(fd, line, n) != n) {
        perror("libpmem_calls: $KDIRECT_PMEM_CALLS");
        abort();
    }
    close(fd);
}

void pmem_flush(const void *addr, size_t len)
{
    record("pmem_flush", addr, len);
    ((void (*)(const void *, size_t)) real("pmem_flush"))(addr, len);
}

void pmem_drain(void)
{
    record("pmem_drain", NULL, 0);
    ((void (*)(void)) real("pmem_drain"))();
}

void pmem_persist(const void *addr, size_t len)
{
    record("pmem_persist", addr, len);
    ((void (*)(const void *, size_t)) real("pmem_persist"))(addr, len);
}
