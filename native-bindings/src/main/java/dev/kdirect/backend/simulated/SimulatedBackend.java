package dev.kdirect.backend.simulated;

import dev.kdirect.Advice;
import dev.kdirect.Binding;
import dev.kdirect.Capability;
import dev.kdirect.Credentials;
import dev.kdirect.Errno;
import dev.kdirect.KernelRelease;
import dev.kdirect.MapFlags;
import dev.kdirect.MsyncFlags;
import dev.kdirect.Prot;
import dev.kdirect.backend.Backend;
import dev.kdirect.backend.BackendKernel;
import java.io.IOException;
import java.lang.foreign.MemorySegment;
import java.nio.file.Path;
import java.util.List;

/**
 * The simulated kernel: a pure-Java model of the Linux x86-64 syscalls kdirect uses. Each syscall applies the
 * kernel's checks in the kernel's order and returns the same {@code -errno}; state (memory map, descriptors,
 * protection keys, sockets and the loopback network with its TCP connections) lives in the model. Memory and files are real (off-heap memory, NIO channels), so
 * callers read and write them as on the real kernel; what the model cannot see, such as plain stores, is
 * enforced by the feature modules' accessors.
 */
public final class SimulatedBackend implements Backend {
    static final long PAGE_SIZE = 4096;
    private static final int PAGE_SHIFT = 12;
    private static final long TASK_SIZE = 0x7ffffffff000L; // 4-level paging user address space
    private static final int PROT_SEM = Prot.SEM;
    private static final int PROT_GROWSDOWN = Prot.GROWSDOWN;
    private static final int PROT_GROWSUP = Prot.GROWSUP;
    private static final int MAP_32BIT = MapFlags.MAP_32BIT;
    private static final int MAP_ABOVE4G = MapFlags.ABOVE4G; // arch/x86/include/uapi/asm/mman.h, since 6.6
    private static final int MAP_HUGETLB = MapFlags.HUGETLB;
    // LEGACY_MAP_MASK (include/linux/mman.h, 6.1 and 6.18): the flags plain MAP_SHARED accepts and silently keeps,
    // MAP_SHARED_VALIDATE accepts without a ->mmap_validate: SHARED, PRIVATE, FIXED, ANONYMOUS, DENYWRITE,
    // EXECUTABLE, UNINITIALIZED, GROWSDOWN, LOCKED, NORESERVE, POPULATE, NONBLOCK, STACK, HUGETLB, 32BIT and the
    // x86 MAP_HUGE_2MB and MAP_HUGE_1GB size bits (all of them since MAP_SHARED_VALIDATE came, in 4.15; as a mask,
    // so every size whose encoding lies within bits 26..30). 6.6 added MAP_ABOVE4G, handled apart.
    private static final int LEGACY_MAP_MASK = 0x01 | 0x02 | 0x10 | 0x20 | MapFlags.DENYWRITE | 0x1000 | 0x4000000
            | MapFlags.GROWSDOWN | MapFlags.LOCKED | MapFlags.NORESERVE | MapFlags.POPULATE | MapFlags.NONBLOCK
            | MapFlags.STACK | MAP_HUGETLB | MAP_32BIT | MapFlags.HUGE_2MB
            | MapFlags.HUGE_1GB;
    // include/uapi/linux/reboot.h: RESTART, HALT, CAD_ON, CAD_OFF, POWER_OFF, RESTART2, SW_SUSPEND
    private static final java.util.Set<Integer> KNOWN_REBOOT_COMMANDS = java.util.Set.of(0x01234567, 0xCDEF0123,
            0x89ABCDEF, 0x00000000, 0x4321FEDC, 0xA1B2C3D4, 0xD000FCE2);

    private final Credentials credentials;
    private final WriteBacks writeBacks = new WriteBacks();
    private final AddressSpace memory = new AddressSpace(PAGE_SIZE, writeBacks);
    private final FdTable fds = new FdTable();
    private final ProtectionKeys pkeys = new ProtectionKeys();
    private final SimulatedFiles files;
    private final KexecModel kexec;
    private final SimulatedSockets sockets;
    private final SocketOptionCalls socketOptions;
    private final UnixSockets unix;

    /**
     * @param credentials who the simulated process is
     * @param daxMounts directories that stand for file systems mounted with {@code -o dax}
     */
    public SimulatedBackend(Credentials credentials, List<Path> daxMounts) {
        this(credentials, daxMounts, KernelRelease.running());
    }

    /**
     * @param credentials who the simulated process is
     * @param daxMounts directories that stand for file systems mounted with {@code -o dax}
     * @param release the kernel release whose rules the model follows where releases differ (so far kexec's:
     *     {@link KexecModel}); the other constructor gives the running kernel's, which the simulated kernel stands in for
     */
    public SimulatedBackend(Credentials credentials, List<Path> daxMounts, KernelRelease release) {
        this.credentials = credentials;
        this.files = new SimulatedFiles(credentials, fds, daxMounts);
        this.kexec = new KexecModel(credentials, fds, files, release);
        this.sockets = new SimulatedSockets(credentials, fds);
        this.socketOptions = new SocketOptionCalls(credentials, sockets);
        this.unix = new UnixSockets(fds, sockets);
    }

    @Override
    public Binding binding() {
        return Binding.SIMULATED;
    }

    @Override
    public long pageSize() {
        return PAGE_SIZE;
    }

    /** The model's ordering of do_mmap (mm/mmap.c) after the x86-64 entry's offset check. */
    @Override
    public long mmap(long address, long length, int prot, int flags, int fd, long offset) {
        if ((offset & (PAGE_SIZE - 1)) != 0) {
            return -Errno.EINVAL.value(); // arch/x86/kernel/sys_x86_64.c
        }
        FileDescription description = null;
        if ((flags & MapFlags.ANONYMOUS) == 0) {
            description = fds.get(fd);
            if (description == null) {
                return -Errno.EBADF.value();
            }
            if ((flags & MAP_HUGETLB) != 0) {
                // ksys_mmap_pgoff (mm/mmap.c, 6.1 and 6.18): MAP_HUGETLB needs a hugetlbfs file, which no simulated
                // file is (a host file on hugetlbfs would be: the model does not know huge page pools)
                if (description instanceof OpenFile open && "hugetlbfs".equals(open.fileSystemType())) {
                    throw new UnsupportedOperationException("the simulated kernel does not model hugetlbfs files ("
                            + open.path + ")");
                }
                return -Errno.EINVAL.value();
            }
        } else if ((flags & MAP_HUGETLB) != 0) {
            // ksys_mmap_pgoff: hugetlb_file_setup's answer depends on the machine's huge page sizes and pool
            throw new UnsupportedOperationException("the simulated kernel does not model anonymous MAP_HUGETLB: the"
                    + " kernel's answer depends on the huge page pool (/proc/sys/vm/nr_hugepages)");
        }
        if (length == 0) {
            return -Errno.EINVAL.value();
        }
        long rounded = pageAlign(length);
        if (rounded == 0 || Long.compareUnsigned(rounded, TASK_SIZE) > 0) {
            return -Errno.ENOMEM.value();
        }
        if ((flags & (MapFlags.FIXED | MapFlags.FIXED_NOREPLACE)) != 0) {
            // do_mmap (mm/mmap.c, 6.18): MAP_FIXED_NOREPLACE implies MAP_FIXED, so an unaligned address is EINVAL
            // for either (__get_unmapped_area's offset_in_page check)
            if ((address & (PAGE_SIZE - 1)) != 0) {
                return -Errno.EINVAL.value();
            }
            throw new UnsupportedOperationException(
                    "the simulated kernel places mappings itself: MAP_FIXED and MAP_FIXED_NOREPLACE are not modelled");
        }
        // do_mmap (mm/mmap.c, 6.1; __mmap_region's caller in 6.12 the same): after the address is chosen and before
        // any check of the type or the file, exactly PROT_EXEC takes the execute-only key (0 when none is free)
        int pkey = 0;
        if (prot == Prot.EXEC) {
            pkey = Math.max(0, pkeys.executeOnlyKey());
        }
        boolean locked = (flags & MapFlags.LOCKED) != 0;
        if (locked && !credentials.capable(Capability.IPC_LOCK)) {
            // can_do_mlock and mlock_future_check (mm/mlock.c, mm/mmap.c): without CAP_IPC_LOCK RLIMIT_MEMLOCK decides
            throw new UnsupportedOperationException("MAP_LOCKED without CAP_IPC_LOCK: the kernel's answer depends on"
                    + " RLIMIT_MEMLOCK, which the simulated kernel does not model");
        }
        boolean growsDown = (flags & MapFlags.GROWSDOWN) != 0;
        if (description != null) {
            // do_mmap -> file_mmap_ok (mm/mmap.c, 6.1 and 6.18): the pages must end below file_mmap_size_max,
            // MAX_LFS_FILESIZE for a regular file or socket, ULONG_MAX for a directory; the offset is unsigned
            long max = description instanceof OpenFile open && open.directory() ? -1L : Long.MAX_VALUE;
            if (Long.compareUnsigned(offset >>> PAGE_SHIFT, (max - rounded) >>> PAGE_SHIFT) > 0) {
                return -Errno.EOVERFLOW.value();
            }
        }
        int type = flags & MapFlags.TYPE_MASK;
        boolean shared = type == MapFlags.SHARED || type == MapFlags.SHARED_VALIDATE;
        OpenFile file = null;
        boolean sync = false;
        if (description != null) {
            if (type == MapFlags.SHARED_VALIDATE && (flags & ~(LEGACY_MAP_MASK | MAP_ABOVE4G | MapFlags.SYNC)) != 0) {
                return -Errno.EOPNOTSUPP.value(); // ext4 and xfs support MAP_SYNC; anything else is unknown
            }
            if (type == MapFlags.SHARED_VALIDATE && (flags & MAP_ABOVE4G) != 0) {
                throw new UnsupportedOperationException("MAP_SHARED_VALIDATE with MAP_ABOVE4G: EOPNOTSUPP before"
                        + " Linux 6.6, accepted since (LEGACY_MAP_MASK, include/linux/mman.h); the simulated kernel"
                        + " follows no one version here");
            }
            if (type != MapFlags.SHARED && type != MapFlags.SHARED_VALIDATE && type != MapFlags.PRIVATE) {
                return -Errno.EINVAL.value();
            }
            if (!(description instanceof OpenFile open) || open.directory()) {
                return -Errno.ENODEV.value(); // no ->mmap: sockets and directories
            }
            if (shared && (prot & Prot.WRITE) != 0 && !open.canWrite()) {
                return -Errno.EACCES.value();
            }
            if (!open.canRead()) {
                return -Errno.EACCES.value();
            }
            file = open;
            // VM_SYNC comes from the flags before MAP_SHARED drops non-legacy ones (calc_vm_flag_bits in do_mmap),
            // and ext4 refuses VM_SYNC on a file that is not DAX whatever the type: the model is ext4.
            sync = (flags & MapFlags.SYNC) != 0;
        } else if (type != MapFlags.SHARED && type != MapFlags.PRIVATE) {
            return -Errno.EINVAL.value();
        } else if (type == MapFlags.SHARED && growsDown) {
            return -Errno.EINVAL.value(); // do_mmap: a shared anonymous mapping cannot be VM_GROWSDOWN
        }
        if (growsDown && description != null) {
            throw new UnsupportedOperationException("the simulated kernel does not model MAP_GROWSDOWN of a file");
        }
        if (sync && !file.dax) {
            return -Errno.EOPNOTSUPP.value(); // ext4_file_mmap -> daxdev_mapping_supported
        }
        if ((flags & (MAP_32BIT | MAP_ABOVE4G)) != 0) {
            throw new UnsupportedOperationException("the simulated kernel places mappings itself: MAP_32BIT and"
                    + " MAP_ABOVE4G (arch/x86/kernel/sys_x86_64.c) are not modelled");
        }
        try {
            return memory.map(rounded, prot, shared, file, offset, locked || (flags & MapFlags.POPULATE) != 0, pkey,
                    growsDown, locked);
        } catch (IOException | OutOfMemoryError e) {
            return -Errno.ENOMEM.value();
        }
    }

    /** __vm_munmap / do_vmi_munmap (mm/mmap.c). */
    @Override
    public int munmap(long address, long length) {
        if ((address & (PAGE_SIZE - 1)) != 0 || Long.compareUnsigned(address, TASK_SIZE) > 0
                || Long.compareUnsigned(length, TASK_SIZE - address) > 0) {
            return -Errno.EINVAL.value();
        }
        long rounded = pageAlign(length);
        if (rounded == 0) {
            return -Errno.EINVAL.value();
        }
        memory.unmap(address, address + rounded);
        return 0;
    }

    @Override
    public int mprotect(long address, long length, int prot) {
        return protect(address, length, prot, -1);
    }

    /** do_mprotect_pkey (mm/mprotect.c); {@code pkey} -1 is plain mprotect. */
    int protect(long address, long length, int prot, int pkey) {
        int grows = prot & (PROT_GROWSDOWN | PROT_GROWSUP);
        int bits = prot & ~grows;
        if (grows == (PROT_GROWSDOWN | PROT_GROWSUP)) {
            return -Errno.EINVAL.value();
        }
        if ((address & (PAGE_SIZE - 1)) != 0) {
            return -Errno.EINVAL.value();
        }
        if (length == 0) {
            return 0;
        }
        long end = address + pageAlign(length);
        if (Long.compareUnsigned(end, address) <= 0) {
            return -Errno.ENOMEM.value();
        }
        if ((bits & ~(Prot.READ | Prot.WRITE | Prot.EXEC | PROT_SEM)) != 0) {
            return -Errno.EINVAL.value(); // arch_validate_prot
        }
        if (pkey != -1 && !pkeys.isAllocated(pkey)) {
            return -Errno.EINVAL.value();
        }
        if (grows != 0) {
            // do_mprotect_pkey (mm/mprotect.c, 6.1 as 6.18): the first area below end must exist and, growing down,
            // start below end, growing up, start at or below start (else ENOMEM); then EINVAL, as no simulated area
            // is VM_GROWSDOWN and x86-64 has no VM_GROWSUP
            Vma vma = memory.firstAreaIn(address, end);
            boolean found = vma != null && ((grows & PROT_GROWSDOWN) != 0 || vma.start <= address);
            if (found && (grows & PROT_GROWSDOWN) != 0 && vma.growsDown) {
                throw new UnsupportedOperationException("PROT_GROWSDOWN on a MAP_GROWSDOWN area: the kernel extends the"
                        + " change down to the start of its area, which depends on merges the simulated kernel does not"
                        + " make (do_mprotect_pkey, mm/mprotect.c)");
            }
            return found ? -Errno.EINVAL.value() : -Errno.ENOMEM.value();
        }
        // arch_override_mprotect_pkey compares the prot the caller gave, PROT_SEM included, with PROT_EXEC
        return memory.protect(address, end, bits & ~PROT_SEM, pkey, bits == Prot.EXEC, pkeys);
    }

    /** do_madvise (mm/madvise.c): the advice is validated before anything else. */
    @Override
    public int madvise(long address, long length, int advice) {
        if (!SupportedAdvice.isValid(advice)) {
            return -Errno.EINVAL.value();
        }
        if ((address & (PAGE_SIZE - 1)) != 0) {
            return -Errno.EINVAL.value();
        }
        long rounded = pageAlign(length);
        if (length != 0 && rounded == 0) {
            return -Errno.EINVAL.value();
        }
        long end = address + rounded;
        if (Long.compareUnsigned(end, address) < 0) {
            return -Errno.EINVAL.value();
        }
        if (end == address) {
            return 0;
        }
        if (advice == Advice.HWPOISON || advice == Advice.SOFT_OFFLINE) {
            if (!credentials.capable(Capability.SYS_ADMIN)) {
                return -Errno.EPERM.value();
            }
            return memory.injectError(address, address + length, advice, pkeys.pkru());
        }
        return memory.advise(address, end, advice, pkeys.pkru());
    }

    @Override
    public int geteuid() {
        return credentials.euid();
    }

    @Override
    public long effectiveCapabilities() {
        return credentials.effectiveCapabilities();
    }

    @Override
    public int open(String path, int flags, int mode) {
        return files.open(path, flags, mode);
    }

    @Override
    public int close(int fd) {
        return fds.close(fd) ? 0 : -Errno.EBADF.value();
    }

    @Override
    public int fstat(int fd, long statbuf) {
        return files.fstat(fd, nativeBuffer(statbuf, BackendKernel.STAT_SIZE));
    }

    @Override
    public int ftruncate(int fd, long length) {
        refuseChangeUnderPrivateCopy(fd, "ftruncate");
        refuseGrowthIntoPagesWithoutMemory(fd, length, "ftruncate");
        return files.ftruncate(fd, length);
    }

    @Override
    public int fallocate(int fd, int mode, long offset, long length) {
        refuseChangeUnderPrivateCopy(fd, "fallocate");
        if ((mode & dev.kdirect.FallocateFlags.KEEP_SIZE) == 0 && offset >= 0 && length > 0) {
            // the size a successful call leaves: INSERT_RANGE grows the file by length, the others to the range's end
            long grown = (mode & dev.kdirect.FallocateFlags.INSERT_RANGE) != 0 ? Long.MAX_VALUE : offset + length;
            refuseGrowthIntoPagesWithoutMemory(fd, grown < 0 ? Long.MAX_VALUE : grown, "fallocate");
        }
        return files.fallocate(fd, mode, offset, length);
    }

    @Override
    public long pread(int fd, long buffer, long count, long offset) {
        long read = files.pread(fd, nativeBuffer(buffer, count), memory.userAccessible(buffer, count, true,
                pkeys.pkru()), offset);
        if (read > 0) {
            // copy_to_user write-faults every page it stores to: a private anonymous page gets a frame of its own,
            // even for bytes that are zeros (which the model could not tell from the shared zero page)
            memory.markPopulated(buffer & -PAGE_SIZE, pageAlign(buffer + read));
        }
        return read;
    }

    @Override
    public long pwrite(int fd, long buffer, long count, long offset) {
        refuseChangeUnderPrivateCopy(fd, "pwrite");
        if (count > 0 && offset >= 0) {
            // O_APPEND writes at the end, wherever the offset points: any size may be reached
            boolean append = fds.get(fd) instanceof OpenFile file && (file.flags & dev.kdirect.OpenFlags.APPEND) != 0;
            refuseGrowthIntoPagesWithoutMemory(fd, append || offset + count < 0 ? Long.MAX_VALUE : offset + count,
                    "pwrite");
        }
        return files.pwrite(fd, nativeBuffer(buffer, count), memory.userAccessible(buffer, count, false, pkeys.pkru()),
                offset);
    }

    /**
     * A change through a descriptor open for writing to a file that a read-only descriptor maps privately: the
     * kernel's private pages not yet written would show it, the model's copy ({@link AddressSpace#map}) would not.
     */
    private void refuseChangeUnderPrivateCopy(int fd, String call) {
        if (fds.get(fd) instanceof OpenFile file && file.canWrite() && memory.hasPrivateCopy(file)) {
            throw new UnsupportedOperationException(call + " of " + file.path + ": a private mapping of it through a"
                    + " read-only descriptor is a copy in the simulated kernel, whose unwritten pages would not show"
                    + " the change as the kernel's page cache does");
        }
    }

    /**
     * A change through a descriptor open for writing that could make pages of a mapping accessible which were past
     * the end of the file at mmap: the model has no memory behind them ({@link AddressSpace#map}).
     */
    private void refuseGrowthIntoPagesWithoutMemory(int fd, long newSize, String call) {
        if (fds.get(fd) instanceof OpenFile file && file.canWrite()
                && memory.growsIntoPagesWithoutMemory(file, newSize)) {
            throw new UnsupportedOperationException(call + " of " + file.path + " to " + newSize + " bytes or more:"
                    + " a mapping of it reaches pages that were past its end at mmap, which the simulated kernel"
                    + " keeps without memory; the kernel would show the file's data there");
        }
    }

    @Override
    public int pkeyAlloc(int flags, int accessRights) {
        return pkeys.allocate(flags, accessRights);
    }

    @Override
    public int pkeyFree(int pkey) {
        return pkeys.free(pkey);
    }

    @Override
    public int pkeyMprotect(long address, long length, int prot, int pkey) {
        return protect(address, length, prot, pkey);
    }

    @Override
    public int pkeyGet(int pkey) {
        return pkeys.get(pkey);
    }

    @Override
    public int pkeySet(int pkey, int accessRights) {
        return pkeys.set(pkey, accessRights);
    }

    /** socket(2): see {@link SimulatedSockets}. */
    @Override
    public int socket(int domain, int type, int protocol) {
        return sockets.socket(domain, type, protocol);
    }

    @Override
    public int bind(int fd, long address, int length) {
        return sockets.bind(fd, nativeBuffer(address, Math.max(length, 0)));
    }

    @Override
    public int listen(int fd, int backlog) {
        return sockets.listen(fd, backlog);
    }

    @Override
    public int connect(int fd, long address, int length) {
        return sockets.connect(fd, nativeBuffer(address, Math.max(length, 0)));
    }

    @Override
    public int accept(int fd) {
        return sockets.accept(fd);
    }

    @Override
    public int getsockname(int fd, long address, int capacity) {
        return sockets.getsockname(fd, nativeBuffer(address, capacity));
    }

    @Override
    public int getpeername(int fd, long address, int capacity) {
        return sockets.getpeername(fd, nativeBuffer(address, capacity));
    }

    /** setsockopt(2): a negative length is EINVAL first (__sys_setsockopt); see {@link SocketOptionCalls}. */
    @Override
    public int setsockopt(int fd, int level, int option, long value, int length) {
        if (length < 0) {
            return -Errno.EINVAL.value();
        }
        return socketOptions.setsockopt(fd, level, option, nativeBuffer(value, length));
    }

    @Override
    public int getsockopt(int fd, int level, int option, long value, int capacity) {
        if (capacity < 0) {
            return -Errno.EINVAL.value();
        }
        return socketOptions.getsockopt(fd, level, option, nativeBuffer(value, capacity));
    }

    @Override
    public int ioctlInt(int fd, long request) {
        return sockets.ioctl(fd, request);
    }

    @Override
    public long recv(int fd, long buffer, long length, int flags) {
        return sockets.recv(fd, nativeBuffer(buffer, length), flags);
    }

    @Override
    public long send(int fd, long buffer, long length, int flags) {
        return sockets.send(fd, nativeBuffer(buffer, length), flags);
    }

    /** socketpair: see {@link UnixSockets}. */
    @Override
    public int socketpair(int domain, int type, int protocol, long pair) {
        return unix.socketpair(domain, type, protocol, nativeBuffer(pair, 2L * Integer.BYTES));
    }

    @Override
    public long sendmsg(int fd, long message, int flags) {
        return unix.sendmsg(fd, nativeBuffer(message, dev.kdirect.backend.Messages.MSGHDR_SIZE), flags);
    }

    @Override
    public long recvmsg(int fd, long message, int flags) {
        return unix.recvmsg(fd, nativeBuffer(message, dev.kdirect.backend.Messages.MSGHDR_SIZE), flags);
    }

    /** kexec_file_load: see {@link KexecModel}. */
    @Override
    public long kexecFileLoad(int kernelFd, int initrdFd, long commandLineLength, long commandLine, long flags) {
        return kexec.load(kernelFd, initrdFd, nativeBuffer(commandLine, commandLineLength), flags);
    }

    /**
     * reboot (kernel/reboot.c): CAP_SYS_BOOT, then the command. Only LINUX_REBOOT_CMD_KEXEC is modelled; it ends
     * with {@link dev.kdirect.SimulatedReboot} (kernel_kexec), or EINVAL with nothing loaded.
     */
    @Override
    public int reboot(int command) {
        if (!credentials.capable(Capability.SYS_BOOT)) {
            return -Errno.EPERM.value();
        }
        if (command != dev.kdirect.Kernel.REBOOT_CMD_KEXEC) {
            if (KNOWN_REBOOT_COMMANDS.contains(command)) {
                throw new UnsupportedOperationException("the simulated kernel models only LINUX_REBOOT_CMD_KEXEC");
            }
            return -Errno.EINVAL.value();
        }
        return kexec.reboot();
    }

    /** msync (mm/msync.c): flags, alignment, MS_ASYNC with MS_SYNC, then the walk. */
    @Override
    public int msync(long address, long length, int flags) {
        if ((flags & ~(MsyncFlags.ASYNC | MsyncFlags.INVALIDATE | MsyncFlags.SYNC)) != 0
                || (address & (PAGE_SIZE - 1)) != 0
                || (flags & MsyncFlags.ASYNC) != 0 && (flags & MsyncFlags.SYNC) != 0) {
            return -Errno.EINVAL.value();
        }
        long end = address + pageAlign(length);
        if (Long.compareUnsigned(end, address) < 0) {
            return -Errno.ENOMEM.value();
        }
        return end == address ? 0 : memory.sync(address, end, (flags & MsyncFlags.SYNC) != 0);
    }

    /** CLWB of the lines covering the range: told to the persistent memory's observers (the pmem model). */
    @Override
    public void cacheLineWriteback(long address, long length) {
        writeBacks.writeBack(address, length);
    }

    /** SFENCE: told to every observer. */
    @Override
    public void storeFence() {
        writeBacks.fence();
    }

    /** libpmem's pmem_persist: pmem_flush, then pmem_drain. */
    @Override
    public void cacheLinePersist(long address, long length) {
        cacheLineWriteback(address, length);
        storeFence();
    }

    /**
     * Tells {@code observer} the write-backs and msyncs of {@code [address, address + length)} (see
     * {@link dev.kdirect.PersistenceObserver#observe}): line write-backs only where that memory is persistent,
     * that is not a mapping of a file outside the simulated DAX mounts. Returns what stops the observation.
     */
    public Runnable observePersistence(long address, long length, dev.kdirect.PersistenceObserver observer) {
        Vma vma = memory.areaAt(address);
        boolean pageCache = vma != null && vma.file != null && !vma.file.dax;
        return writeBacks.observe(address, length, !pageCache, observer);
    }

    /** The model's files are the host's; their dirty data is the host kernel's to write back. */
    @Override
    public void sync() {
    }

    /** Test support: changes the loaded kexec kernel after load, so that purgatory's check fails at reboot. */
    public void corruptLoadedKexecKernel() {
        kexec.corruptLoadedKernel();
    }

    /** Test support: an uncorrectable memory error in the frame of the page at {@code address}. */
    public void hardwareMemoryError(long address) {
        memory.hardwareError(address);
    }

    /** Test support: the shared zero page was poisoned earlier in this boot. */
    public void poisonZeroPage() {
        memory.poisonZeroPage();
    }

    /** Test support: the power fails; observed memory keeps only what was persistent. */
    public void powerCut() {
        writeBacks.powerCut();
    }

    /** Test support: the peer of the connection at {@code fd} aborts it with a RST. */
    public void resetPeer(int fd) {
        sockets.damagePeer(fd, TcpEndpoint::peerResets);
    }

    /** Test support: the peer of the connection at {@code fd} stops taking in segments, or resumes. */
    public void stallPeer(int fd, boolean stall) {
        sockets.damagePeer(fd, tcp -> tcp.stallPeer(stall));
    }

    /** Test support: every free protection key is taken; returns how many were free. */
    public int exhaustProtectionKeys() {
        return pkeys.exhaust();
    }

    AddressSpace memory() {
        return memory;
    }

    ProtectionKeys protectionKeys() {
        return pkeys;
    }

    private static long pageAlign(long length) {
        return (length + PAGE_SIZE - 1) & -PAGE_SIZE;
    }

    private static MemorySegment nativeBuffer(long address, long count) {
        return MemorySegment.ofAddress(address).reinterpret(count);
    }
}
