/*
 * The C baseline of kdirect's TCP repair benchmarks: the same system calls in the same order as
 * dev.kdirect.tcprepair.TcpRepair (checkpoint: CRIU libsoccr's dump order; restore: the order in
 * shared/notes/kernel-facts.md), with no JVM in the way. Built by benchmarks/run with gcc -O2 into
 * benchmarks/target/native/libsoccrbaseline.so and called once per operation through FFM, so both sides pay
 * one downcall. Every function returns 0 (or a descriptor) on success, -errno on failure.
 */
#include <errno.h>
#include <linux/sockios.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

struct kd_state {
    struct sockaddr_storage local, remote;
    socklen_t local_len, remote_len;
    unsigned int send_seq, recv_seq;
    int inq, outq, unsent, mss, timestamp;
    unsigned char options, scales;
    struct tcp_repair_window window;
    int sndbuf, rcvbuf, reuse, nodelay, keepalive;
    int capacity;
    unsigned char *recv_data, *send_data;
};

struct kd_state *kd_state_new(int capacity) {
    struct kd_state *s = calloc(1, sizeof(*s));
    s->capacity = capacity;
    s->recv_data = malloc(capacity + 1);
    s->send_data = malloc(capacity + 1);
    return s;
}

#define CHECK(call) do { if ((call) < 0) return -errno; } while (0)

static int set_int(int fd, int level, int option, int value) {
    return setsockopt(fd, level, option, &value, sizeof(value));
}

static int get_int(int fd, int level, int option, int *value) {
    socklen_t len = sizeof(*value);
    return getsockopt(fd, level, option, value, &len);
}

/* TCP_REPAIR_QUEUE, TCP_QUEUE_SEQ, then a peek of exactly len bytes (one more asked). */
static int dump_queue(int fd, int queue, unsigned int *seq, unsigned char *data, int len) {
    CHECK(set_int(fd, SOL_TCP, TCP_REPAIR_QUEUE, queue));
    CHECK(get_int(fd, SOL_TCP, TCP_QUEUE_SEQ, (int *) seq));
    if (len == 0) return 0;
    ssize_t peeked = recv(fd, data, len + 1, MSG_PEEK | MSG_DONTWAIT);
    if (peeked < 0) return -errno;
    return peeked == len ? 0 : -EAGAIN;
}

/* Repair on and the whole dump; repair off again unless leave_in_repair (a detach closes the socket next). */
static int dump(int fd, struct kd_state *s, int leave_in_repair) {
    unsigned char info[232];
    socklen_t len = sizeof(info);
    s->local_len = s->remote_len = sizeof(struct sockaddr_storage);
    CHECK(getsockname(fd, (struct sockaddr *) &s->local, &s->local_len));
    CHECK(getpeername(fd, (struct sockaddr *) &s->remote, &s->remote_len));
    /* repair mode forces SO_REUSEADDR and leaving it clears it: read it before, set it again after */
    CHECK(get_int(fd, SOL_SOCKET, SO_REUSEADDR, &s->reuse));
    CHECK(set_int(fd, SOL_TCP, TCP_REPAIR, 1));
    CHECK(getsockopt(fd, SOL_TCP, TCP_INFO, info, &len));
    if (info[0] != TCP_ESTABLISHED) return -EINVAL;
    s->options = info[5];
    s->scales = info[6];
    CHECK(ioctl(fd, SIOCOUTQ, &s->outq));
    CHECK(ioctl(fd, SIOCOUTQNSD, &s->unsent));
    CHECK(ioctl(fd, SIOCINQ, &s->inq));
    if (s->inq > s->capacity || s->outq > s->capacity) return -ENOBUFS;
    CHECK(get_int(fd, SOL_TCP, TCP_MAXSEG, &s->mss));
    CHECK(get_int(fd, SOL_TCP, TCP_TIMESTAMP, &s->timestamp));
    len = sizeof(s->window);
    CHECK(getsockopt(fd, SOL_TCP, TCP_REPAIR_WINDOW, &s->window, &len));
    int err = dump_queue(fd, TCP_RECV_QUEUE, &s->recv_seq, s->recv_data, s->inq);
    if (err) return err;
    err = dump_queue(fd, TCP_SEND_QUEUE, &s->send_seq, s->send_data, s->outq);
    if (err) return err;
    CHECK(get_int(fd, SOL_SOCKET, SO_SNDBUF, &s->sndbuf));
    CHECK(get_int(fd, SOL_SOCKET, SO_RCVBUF, &s->rcvbuf));
    CHECK(get_int(fd, SOL_TCP, TCP_NODELAY, &s->nodelay));
    CHECK(get_int(fd, SOL_SOCKET, SO_KEEPALIVE, &s->keepalive));
    if (leave_in_repair) return 0;
    CHECK(set_int(fd, SOL_TCP, TCP_REPAIR_QUEUE, TCP_NO_QUEUE));
    CHECK(set_int(fd, SOL_TCP, TCP_REPAIR, 0));
    CHECK(set_int(fd, SOL_SOCKET, SO_REUSEADDR, s->reuse));
    return 0;
}

/* A checkpoint: the connection stays open and working. */
int kd_checkpoint(int fd, struct kd_state *s) {
    return dump(fd, s, 0);
}

/* send(2) in repair mode appends to the selected queue; chunks halve on failure, as TcpRepair does. */
static int refill(int fd, int queue, const unsigned char *data, int len) {
    if (len == 0) return 0;
    CHECK(set_int(fd, SOL_TCP, TCP_REPAIR_QUEUE, queue));
    int done = 0, chunk = len;
    while (done < len) {
        ssize_t n = send(fd, data + done, chunk < len - done ? chunk : len - done, 0);
        if (n >= 0) done += n;
        else if (chunk == 1) return -errno;
        else chunk = chunk / 2 > 0 ? chunk / 2 : 1;
    }
    return 0;
}

/* A new socket carrying the connection of s; returns its descriptor. */
static int restore(const struct kd_state *s) {
    int fd = socket(s->local.ss_family, SOCK_STREAM, 0);
    if (fd < 0) return -errno;
    int sent = s->outq - s->unsent;
    struct tcp_repair_opt opts[4];
    int n = 0;
    opts[n].opt_code = TCPOPT_MAXSEG; opts[n++].opt_val = s->mss;
    opts[n].opt_code = TCPOPT_WINDOW; opts[n++].opt_val = (s->scales & 0xf) | (s->scales >> 4) << 16;
    if (s->options & TCPI_OPT_SACK) { opts[n].opt_code = TCPOPT_SACK_PERMITTED; opts[n++].opt_val = 0; }
    if (s->options & TCPI_OPT_TIMESTAMPS) { opts[n].opt_code = TCPOPT_TIMESTAMP; opts[n++].opt_val = 0; }
    int err = 0;
    /* buffers that hold the queues first (as kdirect: 64 KiB of room), the saved sizes at the end */
    int send_room = 2 * s->outq + 65536, recv_room = 2 * s->inq + 65536;
    if (set_int(fd, SOL_SOCKET, SO_REUSEADDR, 1) < 0
            || set_int(fd, SOL_SOCKET, SO_SNDBUFFORCE, (s->sndbuf > send_room ? s->sndbuf : send_room) / 2) < 0
            || set_int(fd, SOL_SOCKET, SO_RCVBUFFORCE, (s->rcvbuf > recv_room ? s->rcvbuf : recv_room) / 2) < 0
            || set_int(fd, SOL_TCP, TCP_REPAIR, 1) < 0
            || bind(fd, (const struct sockaddr *) &s->local, s->local_len) < 0
            || set_int(fd, SOL_TCP, TCP_REPAIR_QUEUE, TCP_RECV_QUEUE) < 0
            || set_int(fd, SOL_TCP, TCP_QUEUE_SEQ, s->recv_seq - s->inq) < 0
            || set_int(fd, SOL_TCP, TCP_REPAIR_QUEUE, TCP_SEND_QUEUE) < 0
            || set_int(fd, SOL_TCP, TCP_QUEUE_SEQ, s->send_seq - s->outq) < 0
            || set_int(fd, SOL_TCP, TCP_REPAIR_QUEUE, TCP_NO_QUEUE) < 0
            || connect(fd, (const struct sockaddr *) &s->remote, s->remote_len) < 0
            || setsockopt(fd, SOL_TCP, TCP_REPAIR_OPTIONS, opts, n * sizeof(opts[0])) < 0
            || ((s->options & TCPI_OPT_TIMESTAMPS) && set_int(fd, SOL_TCP, TCP_TIMESTAMP, s->timestamp) < 0)) {
        err = -errno;
    }
    if (!err) err = refill(fd, TCP_RECV_QUEUE, s->recv_data, s->inq);
    if (!err) err = refill(fd, TCP_SEND_QUEUE, s->send_data, sent);
    if (!err && (set_int(fd, SOL_TCP, TCP_REPAIR_QUEUE, TCP_NO_QUEUE) < 0
            || setsockopt(fd, SOL_TCP, TCP_REPAIR_WINDOW, &s->window, sizeof(s->window)) < 0
            || set_int(fd, SOL_TCP, TCP_REPAIR, 0) < 0)) {
        err = -errno;
    }
    if (!err && s->unsent > 0 && send(fd, s->send_data + sent, s->unsent, 0) != s->unsent) err = -EAGAIN;
    if (!err && (set_int(fd, SOL_SOCKET, SO_SNDBUFFORCE, s->sndbuf / 2) < 0
            || set_int(fd, SOL_SOCKET, SO_RCVBUFFORCE, s->rcvbuf / 2) < 0
            || set_int(fd, SOL_SOCKET, SO_REUSEADDR, s->reuse) < 0
            || set_int(fd, SOL_TCP, TCP_NODELAY, s->nodelay) < 0
            || set_int(fd, SOL_SOCKET, SO_KEEPALIVE, s->keepalive) < 0)) {
        err = -errno;
    }
    if (err) { close(fd); return err; }
    return fd;
}

/*
 * One migration cycle of a detached connection: restore s into a new socket, then detach it again (dump in
 * repair mode into scratch, close while in repair: nothing sent), so s stays valid for the next cycle.
 */
int kd_cycle(const struct kd_state *s, struct kd_state *scratch) {
    int fd = restore(s);
    if (fd < 0) return fd;
    int err = dump(fd, scratch, 1);
    close(fd);
    return err;
}

/* Dumps the connection of fd into s and leaves it in repair mode: its owner closes it silently next. */
int kd_freeze(int fd, struct kd_state *s) {
    return dump(fd, s, 1);
}

/* The descriptor of this process whose socket has these ports (setup only: finds the JDK channel's fd). */
int kd_find_fd(int local_port, int remote_port) {
    for (int fd = 3; fd < 65536; fd++) {
        struct sockaddr_in6 local, remote;
        socklen_t a = sizeof(local), b = sizeof(remote);
        if (getsockname(fd, (struct sockaddr *) &local, &a) < 0 || getpeername(fd, (struct sockaddr *) &remote, &b) < 0)
            continue;
        if (ntohs(local.sin6_port) == local_port && ntohs(remote.sin6_port) == remote_port) return fd;
    }
    return -ENOENT;
}
