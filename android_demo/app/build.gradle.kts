// The demo app: Camera (CameraX + LiteRT or ExecuTorch image classification) and Translate
// (a LiteRT or ExecuTorch encoder/decoder pair). Models, manifests and assets are put in src/main/assets/bundles/ by
// `mobilekit scaffold android --bundle dist/NAME` (see README.md); nothing is downloaded.
plugins {
    alias(libs.plugins.android.application)
    alias(libs.plugins.kotlin.android)
    alias(libs.plugins.kotlin.compose)
}

android {
    namespace = "dev.mobilekit.demo"
    compileSdk = 35

    defaultConfig {
        applicationId = "dev.mobilekit.demo"
        minSdk = 24
        targetSdk = 35
        versionCode = 1
        versionName = "0.1.0"
    }

    buildTypes {
        release {
            isMinifyEnabled = false
            signingConfig = signingConfigs.getByName("debug")
        }
    }

    // LiteRT memory-maps models straight from the APK: they must be stored uncompressed. A .pte
    // is copied to the app's files once (ExecuTorch loads a path) and memory-mapped from there;
    // stored uncompressed, that copy is a plain read.
    androidResources {
        noCompress += listOf("tflite", "pte")
    }

    buildFeatures {
        compose = true
    }

    compileOptions {
        sourceCompatibility = JavaVersion.VERSION_17
        targetCompatibility = JavaVersion.VERSION_17
    }
}

kotlin {
    jvmToolchain(17)
}

dependencies {
    implementation(project(":core"))

    implementation(libs.androidx.core.ktx)
    implementation(libs.androidx.activity.compose)
    implementation(libs.androidx.lifecycle.runtime.compose)
    implementation(libs.androidx.lifecycle.viewmodel.compose)
    implementation(libs.androidx.navigation.compose)
    implementation(platform(libs.androidx.compose.bom))
    implementation(libs.androidx.compose.ui)
    implementation(libs.androidx.compose.ui.tooling.preview)
    implementation(libs.androidx.compose.material3)
    implementation(libs.androidx.compose.material.icons.core)
    debugImplementation(libs.androidx.compose.ui.tooling)

    implementation(libs.androidx.camera.core)
    implementation(libs.androidx.camera.camera2)
    implementation(libs.androidx.camera.lifecycle)
    implementation(libs.androidx.camera.view)

    implementation(libs.litert)
    implementation(libs.litert.gpu)
    implementation(libs.litert.gpu.api)
    implementation(libs.litert.support)
    // ExecuTorch's Module for the bundle's XNNPACK .pte (fp32/fp16/int8); the version the harness pins.
    implementation(libs.executorch.android)
    implementation(libs.kotlinx.coroutines.android)
}
