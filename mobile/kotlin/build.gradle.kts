// The platform-free core: preprocessing, manifest, tokenizer.json reader, greedy and beam decoding, statistics.
// Plain Kotlin/JVM with the standard library only, so CI compiles and checks it with kotlinc
// (tests/demo_apps/test_android_demo.py) without Gradle or an Android SDK.
plugins {
    alias(libs.plugins.kotlin.jvm)
}

kotlin {
    jvmToolchain(17)
}

// The golden-vector check (src/test) prints JSON that the Python tests compare with NumPy;
// here it can be run by hand: ./gradlew :core:goldenCheck --args="<digits> <translator> <runs.json>"
tasks.register<JavaExec>("goldenCheck") {
    description = "Runs the core on scaffolded bundles' golden vectors and prints the results as JSON."
    classpath = sourceSets["test"].runtimeClasspath
    mainClass.set("dev.mobilekit.core.GoldenVectorsCheckKt")
}

// The Hugging Face translation contract check (tokenizers, beam search, exported bundles), as
// tests/demo_apps/test_kotlin_translation_contract.py runs it: ./gradlew :core:contractCheck --args="<cases.json>"
tasks.register<JavaExec>("contractCheck") {
    description = "Runs the core's tokenizer.json reader and beam search on the cases file and prints the results as JSON."
    classpath = sourceSets["test"].runtimeClasspath
    mainClass.set("dev.mobilekit.core.TranslationContractCheckKt")
}
