package dev.kdirect.backend.simulated;

import dev.kdirect.Credentials;
import dev.kdirect.Errno;
import dev.kdirect.FallocateFlags;
import dev.kdirect.FileStatus;
import dev.kdirect.OpenFlags;
import dev.kdirect.backend.BackendKernel;
import java.io.IOException;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.NoSuchFileException;
import java.nio.file.OpenOption;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.PosixFilePermission;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.EnumSet;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.Supplier;

/**
 * The file syscalls of the model over the host's real files (through NIO), with the kernel's order of checks
 * from fs/open.c and fs/read_write.c. Permission checks use the simulated credentials: CAP_DAC_OVERRIDE
 * bypasses the mode bits, otherwise the owner or "other" bits decide (group membership is not modelled).
 */
final class SimulatedFiles {
    private static final int CAP_DAC_OVERRIDE = 1;
    private static final int PATH_MAX = 4096; // include/uapi/linux/limits.h, with its NUL
    private static final int NAME_MAX = 255;
    /** The most one read or write moves (include/linux/fs.h MAX_RW_COUNT: INT_MAX & PAGE_MASK). */
    private static final long MAX_RW_COUNT = Integer.MAX_VALUE & -SimulatedBackend.PAGE_SIZE;
    /** FALLOC_FL_SUPPORTED_MASK in 6.1's vfs_fallocate. */
    private static final int FALLOCATE_MASK_6_1 = 0x7f;
    /** FALLOC_FL_MODE_MASK of 6.18's vfs_fallocate (ALLOCATE 0, PUNCH, COLLAPSE, ZERO, INSERT, UNSHARE, WRITE_ZEROES). */
    private static final int FALLOCATE_MODE_MASK_6_18 = 0xfa;

    private final Credentials credentials;
    private final FdTable fds;
    private final List<Path> daxMounts;
    private final Map<Path, Supplier<String>> virtualFiles = new ConcurrentHashMap<>();

    SimulatedFiles(Credentials credentials, FdTable fds, List<Path> daxMounts) {
        this.credentials = credentials;
        this.fds = fds;
        this.daxMounts = daxMounts.stream().map(p -> p.toAbsolutePath().normalize()).toList();
    }

    /**
     * Serves {@code path} from the model instead of the host, as sysfs serves a kernel attribute: each open reads
     * {@code content} once (a show() call), and the descriptor reads that snapshot.
     */
    void addVirtualFile(Path path, Supplier<String> content) {
        virtualFiles.put(path, content);
    }

    int open(String name, int flags, int mode) {
        int nul = name.indexOf('\0');
        if (nul >= 0) {
            name = name.substring(0, nul); // the kernel reads a C string (getname: strncpy_from_user stops at NUL)
        }
        if (name.getBytes(StandardCharsets.UTF_8).length >= PATH_MAX) {
            return -Errno.ENAMETOOLONG.value(); // getname_flags: no NUL within PATH_MAX bytes
        }
        if (name.isEmpty()) {
            return -Errno.ENOENT.value();
        }
        Path path = Path.of(name).toAbsolutePath().normalize();
        if (componentTooLong(path)) {
            return -Errno.ENAMETOOLONG.value();
        }
        Supplier<String> virtual = virtualFiles.get(path);
        if (virtual != null) {
            return openSnapshot(path, virtual.get(), flags);
        }
        LinkOption[] follow = (flags & OpenFlags.NOFOLLOW) != 0
                ? new LinkOption[] {LinkOption.NOFOLLOW_LINKS} : new LinkOption[0];
        boolean exists = Files.exists(path, LinkOption.NOFOLLOW_LINKS) || Files.exists(path);
        boolean create = (flags & OpenFlags.CREAT) != 0;
        if (create && (flags & OpenFlags.EXCL) != 0 && exists) {
            return -Errno.EEXIST.value();
        }
        if (!exists) {
            Path parent = path.getParent();
            if (parent == null || !Files.exists(parent)) {
                return -Errno.ENOENT.value();
            }
            if (!Files.isDirectory(parent)) {
                return -Errno.ENOTDIR.value(); // the lookup walks through a file, with or without O_CREAT (fs/namei.c)
            }
            if (!create) {
                return -Errno.ENOENT.value();
            }
            if (!permitted(parent, false, true)) {
                return -Errno.EACCES.value();
            }
        }
        boolean directory = exists && Files.isDirectory(path, follow);
        int access = flags & OpenFlags.ACCMODE;
        if ((flags & OpenFlags.DIRECTORY) != 0 && exists && !directory) {
            return -Errno.ENOTDIR.value(); // a trailing link not followed (O_NOFOLLOW) is no directory either
        }
        if ((flags & OpenFlags.NOFOLLOW) != 0 && Files.isSymbolicLink(path)) {
            return -Errno.ELOOP.value(); // fs/namei.c may_open: a trailing symlink with O_NOFOLLOW
        }
        if (directory && (access != OpenFlags.RDONLY || create || (flags & OpenFlags.TRUNC) != 0)) {
            return -Errno.EISDIR.value();
        }
        boolean read = access == OpenFlags.RDONLY || access == OpenFlags.RDWR;
        boolean write = access == OpenFlags.WRONLY || access == OpenFlags.RDWR;
        if (exists && !permitted(path, read, write)) {
            return -Errno.EACCES.value();
        }
        try {
            FileChannel channel = directory ? null : FileChannel.open(path, options(flags, exists),
                    PosixFilePermissions.asFileAttribute(permissions(mode & ~credentials.umask())));
            return fds.install(new OpenFile(path, channel, flags, onDaxMount(path), OpenFile.fileKeyOf(path)));
        } catch (IOException e) {
            return -Errno.of(e).value();
        }
    }

    /** vfs_fstat (fs/stat.c): the x86-64 struct stat's mode, owner and size of the file the descriptor holds. */
    int fstat(int fd, MemorySegment stat) {
        FileDescription description = fds.get(fd);
        if (description == null) {
            return -Errno.EBADF.value();
        }
        stat.fill((byte) 0);
        if (!(description instanceof OpenFile file)) {
            // a socket's inode (net/socket.c sock_alloc): S_IFSOCK | 0777, owned by its creator
            stat.set(ValueLayout.JAVA_INT_UNALIGNED, BackendKernel.STAT_MODE, FileStatus.S_IFSOCK | 0777);
            stat.set(ValueLayout.JAVA_INT_UNALIGNED, BackendKernel.STAT_UID, credentials.euid());
            return 0;
        }
        try {
            stat.set(ValueLayout.JAVA_INT_UNALIGNED, BackendKernel.STAT_MODE,
                    (Integer) Files.getAttribute(file.path, "unix:mode"));
            stat.set(ValueLayout.JAVA_INT_UNALIGNED, BackendKernel.STAT_UID,
                    (Integer) Files.getAttribute(file.path, "unix:uid"));
            stat.set(ValueLayout.JAVA_LONG_UNALIGNED, BackendKernel.STAT_SIZE_FIELD,
                    file.directory() ? Files.size(file.path) : file.size());
            return 0;
        } catch (NoSuchFileException e) {
            // the kernel's fstat reads the open inode, which outlives its name; the model reaches it by name
            throw new UnsupportedOperationException("fstat of " + file.path + ", removed or renamed since it was"
                    + " opened: the simulated kernel reads a file's mode and owner by its name", e);
        } catch (IOException e) {
            return -Errno.of(e).value();
        }
    }

    /** do_sys_ftruncate (fs/open.c): length, then descriptor, then a regular file open for writing. */
    int ftruncate(int fd, long length) {
        if (length < 0) {
            return -Errno.EINVAL.value();
        }
        FileDescription description = fds.get(fd);
        if (description == null) {
            return -Errno.EBADF.value();
        }
        if (!(description instanceof OpenFile file) || file.directory() || !file.canWrite()) {
            return -Errno.EINVAL.value();
        }
        try {
            if (length < file.size()) {
                file.channel.truncate(length);
            } else if (length > file.size()) {
                file.channel.write(ByteBuffer.allocate(1), length - 1);
            }
            return 0;
        } catch (IOException e) {
            return -Errno.of(e).value();
        }
    }

    /**
     * ksys_fallocate / vfs_fallocate (fs/open.c), then the file system's ->fallocate: ext4_fallocate
     * (fs/ext4/extents.c) for ext4 and the simulated DAX mounts, shmem_fallocate (mm/shmem.c) for tmpfs. Modes other
     * than allocation and hole punching on another file system throw: their answer is that file system's.
     */
    int fallocate(int fd, int mode, long offset, long length) {
        FileDescription description = fds.get(fd);
        if (description == null) {
            return -Errno.EBADF.value();
        }
        if (offset < 0 || length <= 0) {
            return -Errno.EINVAL.value();
        }
        int old = fallocateModeCheck61(mode);
        int current = fallocateModeCheck618(mode);
        if (old != current) {
            throw new UnsupportedOperationException("fallocate mode 0x" + Integer.toHexString(mode) + ": Linux 6.1's"
                    + " vfs_fallocate answers " + errnoName(old) + ", 6.18's (the mode switch of fs/open.c) "
                    + errnoName(current) + "; the simulated kernel follows no one version here");
        }
        if (old != 0) {
            return -old;
        }
        if (!(description instanceof OpenFile file)) {
            return -Errno.ENODEV.value();
        }
        if (!file.canWrite()) {
            return -Errno.EBADF.value(); // also every directory: none is open for writing, so vfs_fallocate's EISDIR never comes
        }
        FileSystem fs;
        try {
            fs = fileSystem(file);
        } catch (IOException e) {
            return -Errno.of(e).value();
        }
        if (offset + length < 0 || fs.maxBytes() > 0 && offset + length > fs.maxBytes()) {
            return -Errno.EFBIG.value(); // past the file system's s_maxbytes, or wrapping
        }
        boolean keepSize = (mode & FallocateFlags.KEEP_SIZE) != 0;
        int operation = mode & ~FallocateFlags.KEEP_SIZE;
        try {
            long size = file.size();
            if (fs.kind() == FileSystem.Kind.TMPFS && operation != 0 && operation != FallocateFlags.PUNCH_HOLE
                    || fs.ext4() && operation == FallocateFlags.UNSHARE_RANGE) {
                return -Errno.EOPNOTSUPP.value(); // shmem_fallocate: KEEP_SIZE and PUNCH_HOLE only; ext4: no unshare
            }
            if (fs.kind() == FileSystem.Kind.OTHER && operation != 0 && operation != FallocateFlags.PUNCH_HOLE) {
                throw new UnsupportedOperationException("fallocate mode 0x" + Integer.toHexString(mode) + " on "
                        + file.path + " (" + file.fileSystemType() + "): the simulated kernel models its answer on ext4"
                        + " and tmpfs only");
            }
            return switch (operation) {
                case FallocateFlags.COLLAPSE_RANGE -> collapseRange(file, fs, offset, length, size);
                case FallocateFlags.INSERT_RANGE -> insertRange(file, fs, offset, length, size);
                default -> {
                    if (operation != 0) { // PUNCH_HOLE (with KEEP_SIZE) or ZERO_RANGE: the range reads as zeros
                        long zeroEnd = Math.min(offset + length, keepSize ? size : offset + length);
                        writeZeros(file.channel, offset, Math.max(0, zeroEnd - offset));
                    }
                    if (!keepSize && offset + length > size) {
                        file.channel.write(ByteBuffer.allocate(1), offset + length - 1);
                    }
                    yield 0;
                }
            };
        } catch (IOException e) {
            return -Errno.of(e).value();
        }
    }

    /**
     * ext4_collapse_range (fs/ext4/extents.c, 6.1 and 6.18): whole clusters only (EINVAL), ending before the end of
     * the file (EINVAL: that would be a truncation); the rest of the file moves down by {@code length}.
     */
    private static int collapseRange(OpenFile file, FileSystem fs, long offset, long length, long size)
            throws IOException {
        if (((offset | length) & (fs.blockSize() - 1)) != 0 || offset + length >= size) {
            return -Errno.EINVAL.value();
        }
        move(file.channel, offset + length, offset, size - offset - length);
        file.channel.truncate(size - length);
        return 0;
    }

    /**
     * ext4_insert_range (fs/ext4/extents.c, 6.1 and 6.18): whole clusters only (EINVAL), the size plus the length
     * within s_maxbytes (EFBIG), an offset inside the file (EINVAL); the rest of the file moves up over a hole.
     */
    private static int insertRange(OpenFile file, FileSystem fs, long offset, long length, long size)
            throws IOException {
        if (((offset | length) & (fs.blockSize() - 1)) != 0) {
            return -Errno.EINVAL.value();
        }
        if (length > fs.maxBytes() - size) {
            return -Errno.EFBIG.value();
        }
        if (offset >= size) {
            return -Errno.EINVAL.value();
        }
        move(file.channel, offset, offset + length, size - offset);
        writeZeros(file.channel, offset, length);
        return 0;
    }

    /** Copies {@code count} bytes from {@code from} to {@code to} in the file, overlapping ranges included. */
    private static void move(FileChannel channel, long from, long to, long count) throws IOException {
        ByteBuffer chunk = ByteBuffer.allocate(1 << 20);
        for (long done = 0; done < count; ) {
            int n = (int) Math.min(chunk.capacity(), count - done);
            // moving up, copy from the end so that no byte is overwritten before it was read
            long at = to > from ? count - done - n : done;
            chunk.clear().limit(n);
            while (chunk.hasRemaining() && channel.read(chunk, from + at + chunk.position()) >= 0) {
                // read the chunk
            }
            chunk.flip();
            while (chunk.hasRemaining()) {
                channel.write(chunk, to + at + chunk.position());
            }
            done += n;
        }
    }

    /** The mode checks of 6.1's vfs_fallocate (fs/open.c): the errno, or 0 where the mode passes. */
    private static int fallocateModeCheck61(int mode) {
        if ((mode & ~FALLOCATE_MASK_6_1) != 0) {
            return Errno.EOPNOTSUPP.value();
        }
        boolean punch = (mode & FallocateFlags.PUNCH_HOLE) != 0;
        if (punch && ((mode & FallocateFlags.ZERO_RANGE) != 0 || (mode & FallocateFlags.KEEP_SIZE) == 0)) {
            return Errno.EOPNOTSUPP.value(); // a hole keeps the size and is no zero range
        }
        if ((mode & FallocateFlags.COLLAPSE_RANGE) != 0 && mode != FallocateFlags.COLLAPSE_RANGE
                || (mode & FallocateFlags.INSERT_RANGE) != 0 && mode != FallocateFlags.INSERT_RANGE
                || (mode & FallocateFlags.UNSHARE_RANGE) != 0
                        && (mode & ~(FallocateFlags.UNSHARE_RANGE | FallocateFlags.KEEP_SIZE)) != 0) {
            return Errno.EINVAL.value(); // collapse and insert alone, unshare with KEEP_SIZE at most
        }
        return 0; // NO_HIDE_STALE included: the file system refuses it, after the descriptor's checks
    }

    /** The mode checks of 6.18's vfs_fallocate: one mode of FALLOC_FL_MODE_MASK, with or without KEEP_SIZE. */
    private static int fallocateModeCheck618(int mode) {
        if ((mode & ~(FALLOCATE_MODE_MASK_6_18 | FallocateFlags.KEEP_SIZE)) != 0) {
            return Errno.EOPNOTSUPP.value();
        }
        boolean keepSize = (mode & FallocateFlags.KEEP_SIZE) != 0;
        return switch (mode & FALLOCATE_MODE_MASK_6_18) {
            case 0, FallocateFlags.UNSHARE_RANGE, FallocateFlags.ZERO_RANGE -> 0;
            case FallocateFlags.PUNCH_HOLE -> keepSize ? 0 : Errno.EOPNOTSUPP.value();
            case FallocateFlags.COLLAPSE_RANGE, FallocateFlags.INSERT_RANGE -> keepSize ? Errno.EOPNOTSUPP.value() : 0;
            // ext4_fallocate takes it only where the block device offloads writing zeroes: unknown here, so 6.1's
            // EOPNOTSUPP (an unknown mode) and this differ, and the caller refuses
            case FallocateFlags.WRITE_ZEROES -> keepSize ? Errno.EOPNOTSUPP.value() : -1;
            default -> Errno.EOPNOTSUPP.value();
        };
    }

    private static String errnoName(int errno) {
        return errno == 0 ? "no error there" : errno < 0 ? "what the block device allows" : Errno.of(errno).name();
    }

    /**
     * The file system behind a file, as far as its ->fallocate goes: ext4 (the simulated DAX mounts are ext4 with
     * 4096-byte blocks, as the guest's mkfs.ext4 -b 4096), tmpfs, or another the model does not follow.
     *
     * @param blockSize ext4's block, which is its cluster (bigalloc, whose clusters are larger, is not modelled)
     */
    private record FileSystem(Kind kind, long blockSize) {
        enum Kind { EXT4, TMPFS, OTHER }

        static final FileSystem TMPFS = new FileSystem(Kind.TMPFS, 0);
        static final FileSystem OTHER = new FileSystem(Kind.OTHER, 0);

        boolean ext4() {
            return kind == Kind.EXT4;
        }

        /**
         * s_maxbytes, or 0 where unknown: ext4 with extents and huge_file, (2^32 - 1) blocks (ext4_max_size);
         * MAX_LFS_FILESIZE for tmpfs.
         */
        long maxBytes() {
            return switch (kind) {
                case EXT4 -> ((1L << 32) - 1) * blockSize;
                case TMPFS -> Long.MAX_VALUE;
                case OTHER -> 0;
            };
        }
    }

    private static FileSystem fileSystem(OpenFile file) throws IOException {
        if (file.dax) {
            return new FileSystem(FileSystem.Kind.EXT4, 4096);
        }
        return switch (file.fileSystemType()) {
            case "ext4" -> new FileSystem(FileSystem.Kind.EXT4, Files.getFileStore(file.path).getBlockSize());
            case "tmpfs" -> FileSystem.TMPFS;
            default -> FileSystem.OTHER;
        };
    }

    /**
     * ksys_pread64 / vfs_read (fs/read_write.c): offset, descriptor, seekability, read access, file type. Only the
     * first {@code writable} bytes of the buffer may be written by the kernel (copy_to_user): the read stops
     * there, and fails with EFAULT when file data was due but no byte could be copied (mm/filemap.c filemap_read).
     */
    long pread(int fd, MemorySegment buffer, long writable, long offset) {
        Positional target = positionalFile(fd, offset, buffer.byteSize(), false);
        if (target.file() == null) {
            return -target.errno();
        }
        OpenFile file = target.file();
        buffer = buffer.asSlice(0, Math.min(buffer.byteSize(), MAX_RW_COUNT)); // vfs_read clamps the count
        writable = Math.min(writable, buffer.byteSize());
        try {
            if (writable == 0 && buffer.byteSize() > 0 && offset < file.size()) {
                return -Errno.EFAULT.value();
            }
            ByteBuffer bytes = buffer.asSlice(0, writable).asByteBuffer();
            long position = offset;
            while (bytes.hasRemaining()) {
                int n = file.channel.read(bytes, position);
                if (n < 0) {
                    break;
                }
                position += n;
            }
            return position - offset;
        } catch (IOException e) {
            return -Errno.of(e).value();
        }
    }

    /**
     * ksys_pwrite64 / vfs_write: as pread, then only the first {@code readable} bytes of the buffer can be copied
     * from user memory: the write stops there, EFAULT if none (mm/filemap.c generic_perform_write).
     */
    long pwrite(int fd, MemorySegment buffer, long readable, long offset) {
        Positional target = positionalFile(fd, offset, buffer.byteSize(), true);
        if (target.file() == null) {
            return -target.errno();
        }
        OpenFile file = target.file();
        if (readable == 0 && buffer.byteSize() > 0) {
            return -Errno.EFAULT.value();
        }
        buffer = buffer.asSlice(0, Math.min(readable, MAX_RW_COUNT)); // vfs_write clamps the count
        try {
            // Linux bug-compatibility: pwrite on an O_APPEND descriptor appends, whatever the offset (pwrite(2)).
            long position = (file.flags & OpenFlags.APPEND) != 0 ? file.size() : offset;
            ByteBuffer source = buffer.asByteBuffer();
            long start = position;
            while (source.hasRemaining()) {
                position += file.channel.write(source, position);
            }
            return position - start;
        } catch (IOException e) {
            return -Errno.of(e).value();
        }
    }

    private int openSnapshot(Path path, String content, int flags) {
        if ((flags & OpenFlags.ACCMODE) != OpenFlags.RDONLY) {
            return -Errno.EACCES.value(); // the modelled attributes are read-only (0444)
        }
        try {
            Path snapshot = Files.createTempFile("kdirect-sysfs", ".txt");
            Files.writeString(snapshot, content);
            FileChannel channel = FileChannel.open(snapshot, StandardOpenOption.READ, StandardOpenOption.DELETE_ON_CLOSE);
            return fds.install(new OpenFile(path, channel, flags, false, null)); // the channel is a snapshot's
        } catch (IOException e) {
            return -Errno.EIO.value();
        }
    }

    /** A descriptor usable for pread/pwrite, or the errno that refuses it. */
    private record Positional(OpenFile file, int errno) {
        static Positional refused(int errno) {
            return new Positional(null, errno);
        }
    }

    private Positional positionalFile(int fd, long offset, long count, boolean write) {
        if (offset < 0) {
            return Positional.refused(Errno.EINVAL.value());
        }
        FileDescription description = fds.get(fd);
        if (description == null) {
            return Positional.refused(Errno.EBADF.value());
        }
        if (!(description instanceof OpenFile file)) {
            return Positional.refused(Errno.ESPIPE.value()); // sockets have no FMODE_PREAD
        }
        if (write ? !file.canWrite() : !file.canRead()) {
            return Positional.refused(Errno.EBADF.value());
        }
        if (offset + count < 0) {
            return Positional.refused(Errno.EINVAL.value()); // rw_verify_area: pos + count wraps past LLONG_MAX
        }
        if (file.directory()) {
            return Positional.refused(Errno.EISDIR.value());
        }
        return new Positional(file, 0);
    }

    /**
     * Whether the walk (fs/namei.c link_path_walk, then the file system's lookup: ext4_lookup, simple_lookup) meets
     * a name longer than NAME_MAX before it meets a missing directory, which the caller reports as ENOENT or ENOTDIR.
     */
    private static boolean componentTooLong(Path path) {
        Path walked = path.getRoot();
        for (Path component : path) {
            if (component.toString().getBytes(StandardCharsets.UTF_8).length > NAME_MAX) {
                return true;
            }
            walked = walked.resolve(component);
            if (!Files.isDirectory(walked)) {
                return false;
            }
        }
        return false;
    }

    private boolean onDaxMount(Path path) {
        return daxMounts.stream().anyMatch(path::startsWith);
    }

    private boolean permitted(Path path, boolean read, boolean write) {
        if (credentials.capable(CAP_DAC_OVERRIDE)) {
            return true;
        }
        try {
            int owner = (Integer) Files.getAttribute(path, "unix:uid");
            int mode = (Integer) Files.getAttribute(path, "unix:mode");
            int bits = owner == credentials.euid() ? (mode >> 6) & 7 : mode & 7;
            return (!read || (bits & 4) != 0) && (!write || (bits & 2) != 0);
        } catch (IOException | UnsupportedOperationException e) {
            return false;
        }
    }

    private static Set<OpenOption> options(int flags, boolean exists) {
        Set<OpenOption> options = new HashSet<>();
        int access = flags & OpenFlags.ACCMODE;
        if (access != OpenFlags.WRONLY) {
            options.add(StandardOpenOption.READ);
        }
        if (access != OpenFlags.RDONLY) {
            options.add(StandardOpenOption.WRITE);
        }
        if ((flags & OpenFlags.CREAT) != 0 && !exists) {
            options.add(StandardOpenOption.CREATE_NEW);
            options.add(StandardOpenOption.WRITE); // NIO cannot create without write; access checks use flags
        }
        if ((flags & OpenFlags.TRUNC) != 0 && access != OpenFlags.RDONLY) {
            options.add(StandardOpenOption.TRUNCATE_EXISTING);
        }
        if ((flags & OpenFlags.NOFOLLOW) != 0) {
            options.add(LinkOption.NOFOLLOW_LINKS);
        }
        return options;
    }

    private static Set<PosixFilePermission> permissions(int mode) {
        Set<PosixFilePermission> set = EnumSet.noneOf(PosixFilePermission.class);
        PosixFilePermission[] order = {
            PosixFilePermission.OTHERS_EXECUTE, PosixFilePermission.OTHERS_WRITE, PosixFilePermission.OTHERS_READ,
            PosixFilePermission.GROUP_EXECUTE, PosixFilePermission.GROUP_WRITE, PosixFilePermission.GROUP_READ,
            PosixFilePermission.OWNER_EXECUTE, PosixFilePermission.OWNER_WRITE, PosixFilePermission.OWNER_READ};
        for (int bit = 0; bit < order.length; bit++) {
            if ((mode & (1 << bit)) != 0) {
                set.add(order[bit]);
            }
        }
        return set;
    }

    private static void writeZeros(FileChannel channel, long offset, long length) throws IOException {
        ByteBuffer zeros = ByteBuffer.allocate((int) Math.min(length, 1 << 16));
        for (long done = 0; done < length; ) {
            zeros.clear().limit((int) Math.min(zeros.capacity(), length - done));
            done += channel.write(zeros, offset + done);
        }
    }
}
