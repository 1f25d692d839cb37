// The mobilekit device benchmark for Android, generated into <bundle>/harness/android/.
// It benchmarks the bundle two folders up (see benchmark/build.gradle.kts).
pluginManagement {
    repositories {
        google()
        mavenCentral()
        gradlePluginPortal()
    }
}

// jvmToolchain(17): Gradle downloads a JDK 17 when none is installed (foojay resolver).
plugins {
    id("org.gradle.toolchains.foojay-resolver-convention") version "0.9.0"
}

dependencyResolutionManagement {
    repositoriesMode.set(RepositoriesMode.FAIL_ON_PROJECT_REPOS)
    repositories {
        google()
        mavenCentral()
    }
}

rootProject.name = "mobilekit-bench-harness"
// core/ is the shared Kotlin core (mobile/kotlin in the mobilekit repo), copied in when rendered.
include(":benchmark", ":core")
