// The instrumented benchmark. The models, manifest.json and golden inputs are copied from the
// bundle (two folders above this project) into the test APK's assets at build time, so a
// re-export followed by a new run always benchmarks the current files.
plugins {
    alias(libs.plugins.android.library)
    alias(libs.plugins.kotlin.android)
}

val bundleDir: File = rootProject.projectDir.resolve("../..").canonicalFile
val bundleAssets = layout.buildDirectory.dir("generated/mobilekitBundle")

val copyBundle by tasks.registering(Sync::class) {
    description = "Copies the bundle's models, manifest and golden inputs into the test assets."
    from(bundleDir) {
        include("manifest.json", "tflite/**", "onnx/**", "executorch/**", "assets/golden/**")
    }
    into(bundleAssets)
}

android {
    namespace = "dev.mobilekit.bench"
    compileSdk = 35

    defaultConfig {
        minSdk = 24
        testInstrumentationRunner = "androidx.test.runner.AndroidJUnitRunner"
        buildConfigField("String", "LITERT_VERSION", "\"${libs.versions.litert.get()}\"")
        buildConfigField("String", "ORT_VERSION", "\"${libs.versions.onnxruntime.get()}\"")
        buildConfigField("String", "EXECUTORCH_VERSION", "\"${libs.versions.executorch.get()}\"")
    }

    buildFeatures {
        buildConfig = true
    }

    sourceSets {
        getByName("androidTest") {
            assets.srcDir(bundleAssets.get().asFile)
        }
    }

    androidResources {
        noCompress += listOf("tflite", "onnx", "pte", "npy")
    }

    compileOptions {
        sourceCompatibility = JavaVersion.VERSION_17
        targetCompatibility = JavaVersion.VERSION_17
    }
}

kotlin {
    jvmToolchain(17)
}

tasks.named("preBuild") {
    dependsOn(copyBundle)
}

dependencies {
    implementation(project(":core"))
    androidTestImplementation(libs.litert)
    androidTestImplementation(libs.litert.gpu)
    androidTestImplementation(libs.litert.gpu.api)
    androidTestImplementation(libs.onnxruntime.android)
    androidTestImplementation(libs.executorch.android)
    androidTestImplementation(libs.androidx.test.runner)
    androidTestImplementation(libs.androidx.test.ext.junit)
    androidTestImplementation(libs.junit)
}
