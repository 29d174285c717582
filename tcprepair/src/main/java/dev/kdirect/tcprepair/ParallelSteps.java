package dev.kdirect.tcprepair;

import java.io.IOException;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;

/**
 * One step per connection of a migration (freeze, release, restore, thaw), spread over a platform thread per CPU:
 * each step is a few dozen system calls on its own socket, so they scale with the cores, and a migration of
 * thousands of connections is bound by them. Only when this JVM reaches descriptors through the JDK
 * ({@link SocketDescriptor#jdkFastPath}); the /proc route cannot tell apart sockets that threads open at the same
 * moment, so without it the steps run one after another on the calling thread. Steps of different indices must
 * touch different state; progress is counted across the threads and reported under a lock, in order of completion.
 */
final class ParallelSteps {
    /** The step for one connection. */
    @FunctionalInterface
    interface Step {
        void run(int index) throws IOException;
    }

    private ParallelSteps() {
    }

    /**
     * Runs {@code step} for 0..count-1 and returns when all have ended; the first exception or Error a step threw
     * is rethrown then (the other steps still ran).
     */
    static void forEach(int count, String phase, MigrationProgress progress, Step step) throws IOException {
        int threads = SocketDescriptor.jdkFastPath() ? Math.min(count, Runtime.getRuntime().availableProcessors()) : 1;
        AtomicInteger done = new AtomicInteger();
        AtomicReference<Throwable> first = new AtomicReference<>();
        Runnable[] workers = new Runnable[Math.max(threads, 1)];
        for (int t = 0; t < workers.length; t++) {
            int start = t;
            int stride = workers.length;
            workers[t] = () -> {
                for (int i = start; i < count; i += stride) {
                    try {
                        step.run(i);
                    } catch (Throwable e) { // an Error too: the caller rolls back what the steps did
                        first.compareAndSet(null, e);
                    }
                    int finished = done.incrementAndGet();
                    synchronized (progress) {
                        progress.progress(phase, finished, count);
                    }
                }
            };
        }
        if (workers.length == 1) {
            workers[0].run();
        } else {
            List<Thread> running = new ArrayList<>();
            for (Runnable worker : workers) {
                running.add(Thread.ofPlatform().name("kdirect-migration-" + phase).start(worker));
            }
            for (Thread thread : running) {
                try {
                    thread.join();
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                    throw new MigrationException("interrupted while the connections were being " + phase);
                }
            }
        }
        Throwable failure = first.get();
        if (failure instanceof IOException e) {
            throw e;
        }
        if (failure instanceof RuntimeException e) {
            throw e;
        }
        if (failure instanceof Error e) {
            throw e;
        }
    }
}
