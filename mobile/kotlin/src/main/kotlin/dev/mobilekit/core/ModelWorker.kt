package dev.mobilekit.core

import java.util.concurrent.ExecutorService
import java.util.concurrent.Executors
import java.util.concurrent.RejectedExecutionException
import java.util.concurrent.atomic.AtomicBoolean

/**
 * One model on one dedicated thread. The model (a LiteRT interpreter and its GPU delegate) is
 * created, run and closed on this worker's thread only: the GPU delegate's OpenGL backend must
 * run on the thread that created it, and interpreters are not thread-safe.
 *
 * Every outcome, success or error, is handed to [deliver] (the app passes the main thread's
 * executor, so UI state changes there); nothing thrown on the worker escapes it, and the busy
 * flag is cleared on every path.
 */
class ModelWorker<M : AutoCloseable>(
    val name: String,
    private val deliver: (Runnable) -> Unit,
) : AutoCloseable {
    @Volatile private var thread: Thread? = null
    private val closed = AtomicBoolean(false)
    private val busy = AtomicBoolean(false)

    @Volatile private var modelLoaded = false

    /** Only read and written on the worker thread. */
    private var model: M? = null

    /** The worker's thread as an executor, e.g. for CameraX's analyzer (then use [onWorkerThread]). */
    val executor: ExecutorService =
        Executors.newSingleThreadExecutor { r -> Thread(r, name).also { it.isDaemon = true } }

    val isBusy: Boolean get() = busy.get()

    val isClosed: Boolean get() = closed.get()

    /** Whether a model is loaded (readable on any thread; the worker thread is the one that knows). */
    val hasModel: Boolean get() = modelLoaded

    /** Closes the current model (if any) and makes a new one with [factory], both on the worker thread. */
    fun load(
        factory: () -> M,
        done: (Result<M>) -> Unit,
    ) {
        submit(done) { replace(factory) }
    }

    /**
     * [load] for one variant the user picked, its outcome as the screen shows it: [ModelState.Ready]
     * with the model's [backend] and the load time (both taken on the worker thread), or
     * [ModelState.Failed] with one line.
     */
    fun loadChoice(
        choice: ModelChoice,
        backend: (M) -> String,
        factory: () -> M,
        done: (ModelState) -> Unit,
    ) {
        submit({ r: Result<ModelState> ->
            done(r.getOrElse { ModelState.failed("Loading ${choice.target} ${choice.variant}", it) })
        }) {
            val t0 = System.nanoTime()
            val m = replace(factory)
            ModelState.Ready(choice, backend(m), (System.nanoTime() - t0) / 1e6)
        }
    }

    private fun replace(factory: () -> M): M {
        model?.let { old ->
            model = null
            old.close()
        }
        return factory().also { model = it }
    }

    /**
     * Runs [job] on the loaded model, unless a job is still running: then it returns false and
     * the caller drops the request (a button press while translating, say).
     */
    fun <R> run(
        job: (M) -> R,
        done: (Result<R>) -> Unit,
    ): Boolean {
        if (!busy.compareAndSet(false, true)) return false
        submit({ r ->
            busy.set(false)
            done(r)
        }) { job(current()) }
        return true
    }

    /**
     * [job] on the loaded model, called on the worker thread itself (the camera analyzer runs
     * there); errors are returned, not thrown.
     */
    fun <R> onWorkerThread(job: (M) -> R): Result<R> {
        check(Thread.currentThread() === thread) { "$name: called from ${Thread.currentThread().name}, not the model's thread" }
        return runCatching { job(current()) }
    }

    /**
     * Closes the model on its own thread and stops the thread. A job already running finishes
     * first; jobs still queued, and any asked for later, are answered with a "closed" failure.
     */
    override fun close() {
        if (!closed.compareAndSet(false, true)) return
        try {
            executor.execute {
                val m = model
                model = null
                modelLoaded = false
                runCatching { m?.close() }
            }
        } catch (e: RejectedExecutionException) {
            // already shut down: nothing left to close
        }
        executor.shutdown()
    }

    private fun current(): M = model ?: throw IllegalStateException("no model is loaded")

    /** [work] on the worker thread without the model (reading a bundle's manifests, say); the outcome to [done]. */
    fun <R> call(
        work: () -> R,
        done: (Result<R>) -> Unit,
    ) = submit(done, work)

    private fun <R> submit(
        done: (Result<R>) -> Unit,
        work: () -> R,
    ) {
        val task =
            Runnable {
                thread = Thread.currentThread()
                val result = if (closed.get()) Result.failure(IllegalStateException("$name is closed")) else runCatching(work)
                modelLoaded = model != null
                deliver { done(result) }
            }
        if (closed.get()) {
            deliver { done(Result.failure(IllegalStateException("$name is closed"))) }
            return
        }
        try {
            executor.execute(task)
        } catch (e: RejectedExecutionException) {
            deliver { done(Result.failure(IllegalStateException("$name is closed"))) }
        }
    }

    init {
        // Learn the thread up front so onWorkerThread can check it from the first frame.
        executor.execute { thread = Thread.currentThread() }
    }
}
