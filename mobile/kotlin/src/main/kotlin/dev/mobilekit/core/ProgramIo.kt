package dev.mobilekit.core

/**
 * An ExecuTorch program's values as the manifest describes them: `forward` takes its inputs by
 * position, in the order of the artifact's manifest `inputs` (the model's forward arguments),
 * each in the dtype listed there, and returns its outputs in the order of `outputs`. The app's
 * and the harness's ExecuTorch models only convert these to and from the runtime's tensors.
 */
object ProgramIo {
    /** [inputs] (by manifest name) as forward's positional values, each cast to its declared dtype. */
    fun inputs(
        artifact: Artifact,
        inputs: Map<String, TensorData>,
    ): List<TensorData> {
        if (artifact.inputs.isEmpty()) {
            throw ManifestException("the manifest lists no inputs for ${artifact.label}: re-export the bundle with this mobilekit")
        }
        return artifact.inputs.map { ref ->
            val data = inputs[ref.name] ?: throw ManifestException("no value for input '${ref.name}' of ${artifact.label}")
            if (ref.shape.isNotEmpty() && ref.shape.fold(1) { a, b -> a * b } != data.count) {
                throw ManifestException(
                    "input '${ref.name}' of ${artifact.label} has ${data.count} values; the manifest's shape ${ref.shape.toList()} holds ${ref.shape.fold(
                        1,
                    ) { a, b -> a * b }}",
                )
            }
            data.cast(ref.dtype)
        }
    }

    /** Forward's positional [values] by the artifact's manifest output names (extra values are ignored). */
    fun outputs(
        artifact: Artifact,
        values: List<TensorData>,
    ): Map<String, TensorData> {
        if (values.size < artifact.outputs.size) {
            throw IllegalStateException("${artifact.label} gave ${values.size} output(s); the manifest lists ${artifact.outputs.size}")
        }
        return artifact.outputs.withIndex().associate { (i, ref) -> ref.name to values[i] }
    }
}
