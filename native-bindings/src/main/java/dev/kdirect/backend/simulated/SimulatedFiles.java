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
    private static final int SUPPORTED_FALLOCATE = FallocateFlags.KEEP_SIZE | FallocateFlags.PUNCH_HOLE
            | FallocateFlags.ZERO_RANGE;

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
            return fds.install(new OpenFile(path, channel, flags, onDaxMount(path)));
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

    /** ksys_fallocate / vfs_fallocate (fs/open.c). */
    int fallocate(int fd, int mode, long offset, long length) {
        FileDescription description = fds.get(fd);
        if (description == null) {
            return -Errno.EBADF.value();
        }
        if (offset < 0 || length <= 0) {
            return -Errno.EINVAL.value();
        }
        if ((mode & ~SUPPORTED_FALLOCATE) != 0) {
            return -Errno.EOPNOTSUPP.value();
        }
        boolean keepSize = (mode & FallocateFlags.KEEP_SIZE) != 0;
        if ((mode & FallocateFlags.PUNCH_HOLE) != 0 && (!keepSize || (mode & FallocateFlags.ZERO_RANGE) != 0)) {
            return -Errno.EOPNOTSUPP.value(); // a hole must keep the size and cannot also be a zero range
        }
        if (!(description instanceof OpenFile file)) {
            return -Errno.ENODEV.value();
        }
        if (!file.canWrite()) {
            return -Errno.EBADF.value(); // also every directory: none is open for writing, so vfs_fallocate's EISDIR never comes
        }
        if (offset + length < 0) {
            return -Errno.EFBIG.value();
        }
        try {
            long size = file.size();
            if ((mode & (FallocateFlags.PUNCH_HOLE | FallocateFlags.ZERO_RANGE)) != 0) {
                long zeroEnd = Math.min(offset + length, keepSize ? size : offset + length);
                writeZeros(file.channel, offset, Math.max(0, zeroEnd - offset));
            }
            if (!keepSize && offset + length > size) {
                file.channel.write(ByteBuffer.allocate(1), offset + length - 1);
            }
            return 0;
        } catch (IOException e) {
            return -Errno.of(e).value();
        }
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
            return fds.install(new OpenFile(path, channel, flags, false));
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
