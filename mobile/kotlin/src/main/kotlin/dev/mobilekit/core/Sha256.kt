package dev.mobilekit.core

import java.io.File
import java.security.MessageDigest

/** The sha256 mobilekit's manifest records: of a file, or of a folder's files in path order. */
object Sha256 {
    fun of(file: File): String {
        if (!file.isDirectory) return fileDigest(file)
        val md = MessageDigest.getInstance("SHA-256")
        val files =
            file
                .walkTopDown()
                .filter { it.isFile }
                .map { it.relativeTo(file).invariantSeparatorsPath }
                .sortedWith { a, b -> comparePaths(a.split('/'), b.split('/')) }
        for (rel in files) {
            md.update(rel.toByteArray(Charsets.UTF_8))
            md.update(0)
            md.update(fileDigest(File(file, rel)).toByteArray(Charsets.US_ASCII))
        }
        return hex(md.digest())
    }

    private fun comparePaths(
        a: List<String>,
        b: List<String>,
    ): Int {
        for (i in 0 until minOf(a.size, b.size)) {
            val c = a[i].compareTo(b[i])
            if (c != 0) return c
        }
        return a.size - b.size
    }

    private fun fileDigest(file: File): String {
        val md = MessageDigest.getInstance("SHA-256")
        file.inputStream().use { input ->
            val buf = ByteArray(1 shl 16)
            while (true) {
                val n = input.read(buf)
                if (n < 0) break
                md.update(buf, 0, n)
            }
        }
        return hex(md.digest())
    }

    internal fun hex(bytes: ByteArray): String = bytes.joinToString("") { "%02x".format(it.toInt() and 0xFF) }
}
