package dev.mobilekit.core

import java.nio.Buffer
import java.nio.ByteBuffer

/**
 * Rewinds through [Buffer]: `ByteBuffer.rewind()` returning `ByteBuffer` exists only on newer
 * Android versions (API 26 / Java 9), and a call compiled against a new SDK fails with
 * NoSuchMethodError on older devices. The app and the harness both rewind through this.
 */
fun ByteBuffer.rewound(): ByteBuffer {
    (this as Buffer).rewind()
    return this
}
