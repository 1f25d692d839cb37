package dev.mobilekit.core

import java.io.File
import java.io.InputStream
import java.security.MessageDigest

/**
 * Model files a runtime wants as a path (ExecuTorch's `Module.load`), copied out of the APK once:
 * named by the manifest's sha256, so a copy is reused until the bundle changes, and checked
 * against that sha256 while copying, so a truncated or different asset is never loaded. Call it
 * on the model's worker thread (it reads and writes the whole file).
 */
object ModelFiles {
    /** The copy of [artifact] in [dir]: `<sha256>.<extension>`. */
    fun fileFor(
        dir: File,
        artifact: Artifact,
    ): File {
        if (!SHA256.matches(artifact.sha256)) {
            throw ManifestException("${artifact.label} has no sha256 in the manifest: re-export the bundle")
        }
        val ext = artifact.path.substringAfterLast('/').substringAfterLast('.', "bin")
        return File(dir, "${artifact.sha256}.$ext")
    }

    /**
     * The file path of [artifact]: the copy in [dir] when one of the manifest's size is there,
     * else [open]'s bytes written to a temporary file, checked and renamed into place.
     */
    fun materialize(
        dir: File,
        artifact: Artifact,
        open: () -> InputStream,
    ): File {
        val target = fileFor(dir, artifact)
        if (target.isFile && (artifact.sizeBytes == null || target.length() == artifact.sizeBytes)) return target
        if (!dir.isDirectory && !dir.mkdirs()) throw IllegalStateException("cannot create ${dir.path} for the model copies")
        val partial = File(dir, target.name + ".part")
        val md = MessageDigest.getInstance("SHA-256")
        try {
            open().use { input ->
                partial.outputStream().use { out ->
                    val buf = ByteArray(1 shl 16)
                    while (true) {
                        val n = input.read(buf)
                        if (n < 0) break
                        md.update(buf, 0, n)
                        out.write(buf, 0, n)
                    }
                }
            }
            val got = Sha256.hex(md.digest())
            if (got != artifact.sha256) {
                throw ManifestException("${artifact.path} in the app does not match its manifest (sha256 $got): scaffold the bundle again")
            }
            if (!partial.renameTo(target)) throw IllegalStateException("cannot move the copy of ${artifact.path} into ${dir.path}")
            return target
        } finally {
            partial.delete()
        }
    }

    /** Removes copies in [dir] no artifact of [keep] names (an older bundle's), returning how many. */
    fun prune(
        dir: File,
        keep: List<Artifact>,
    ): Int {
        val names = keep.filter { SHA256.matches(it.sha256) }.map { fileFor(dir, it).name }.toSet()
        val stale = dir.listFiles().orEmpty().filter { it.isFile && it.name !in names }
        return stale.count { it.delete() }
    }

    private val SHA256 = Regex("[0-9a-f]{64}")
}
