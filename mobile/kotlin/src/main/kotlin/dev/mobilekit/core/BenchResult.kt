package dev.mobilekit.core

import java.text.SimpleDateFormat
import java.util.Date
import java.util.Locale
import java.util.TimeZone

/** Where the benchmark ran (the schema's `device`). */
data class DeviceInfo(
    val platform: String,
    val model: String,
    val os: String,
    val cores: Int?,
    val arch: String? = null,
    val manufacturer: String? = null,
    val soc: String? = null,
    val memoryBytes: Long? = null,
) {
    fun toMap(): Map<String, Any?> {
        val m = linkedMapOf<String, Any?>("platform" to platform, "model" to model, "os" to os, "cores" to cores)
        arch?.let { m["arch"] = it }
        manufacturer?.let { m["manufacturer"] = it }
        soc?.let { m["soc"] = it }
        memoryBytes?.let { m["memory_bytes"] = it }
        return m
    }
}

/** One runtime configuration (the schema's `config`). */
data class RunConfig(
    val backend: String,
    val delegate: String?,
    val computeUnits: String?,
    val threads: Int?,
    val warmupRuns: Int,
    val runs: Int,
    val inputs: String = "golden",
) {
    fun toMap(): Map<String, Any?> =
        linkedMapOf(
            "backend" to backend,
            "delegate" to delegate,
            "compute_units" to computeUnits,
            "threads" to threads,
            "warmup_runs" to warmupRuns,
            "runs" to runs,
            "inputs" to inputs,
        )
}

/** What one benchmark measured (the schema's `results`). */
data class Timings(
    val initMs: Double?,
    val loadMs: Double,
    val firstInferenceMs: Double,
    val runsMs: DoubleArray,
    val memory: MemoryResult,
) {
    fun toMap(): Map<String, Any?> =
        linkedMapOf(
            "init_ms" to initMs,
            "load_ms" to loadMs,
            "first_inference_ms" to firstInferenceMs,
            "latency_ms" to Stats.latency(runsMs).toMap(),
            "runs_ms" to runsMs.toList(),
            "memory" to memory.toMap(),
        )
}

/** One `mobilekit.bench/1` document. */
data class BenchResult(
    val tool: String,
    val device: DeviceInfo,
    val runtimeName: String,
    val runtimeVersion: String,
    val artifact: Artifact,
    val modelSha256: String,
    val config: RunConfig,
    val status: String,
    val error: String?,
    val timings: Timings?,
    val notes: List<String> = emptyList(),
    val createdAt: String = now(),
) {
    fun toMap(): Map<String, Any?> {
        val model = linkedMapOf<String, Any?>("file" to artifact.path, "sha256" to modelSha256, "target" to artifact.target, "variant" to artifact.variant)
        artifact.sizeBytes?.let { model["size_bytes"] = it }
        return linkedMapOf(
            "schema" to SCHEMA,
            "created_at" to createdAt,
            "source" to linkedMapOf("kind" to "device", "tool" to tool),
            "device" to device.toMap(),
            "runtime" to linkedMapOf("name" to runtimeName, "version" to runtimeVersion),
            "model" to model,
            "config" to config.toMap(),
            "status" to status,
            "error" to if (status == "ok") null else (error ?: "unknown error"),
            "results" to if (status == "ok") timings?.toMap() else null,
            "notes" to notes,
        )
    }

    fun toJson(): String = Json.write(toMap())

    /** A file name that is stable for the same device, artifact and configuration. */
    fun fileName(): String {
        val how = listOfNotNull(runtimeName, config.computeUnits ?: config.backend, config.delegate, config.threads?.let { "t$it" })
        return (listOf(device.platform, device.model, artifact.target, artifact.variant) + how)
            .joinToString("-") { slug(it) } + ".json"
    }

    companion object {
        const val SCHEMA = "mobilekit.bench/1"

        fun now(): String {
            val f = SimpleDateFormat("yyyy-MM-dd'T'HH:mm:ssXXX", Locale.US)
            f.timeZone = TimeZone.getTimeZone("UTC")
            return f.format(Date())
        }

        fun slug(s: String): String =
            s
                .replace(Regex("[^A-Za-z0-9.]+"), "-")
                .trim('-')
                .lowercase(Locale.US)
                .take(40)
                .ifEmpty { "x" }
    }
}
