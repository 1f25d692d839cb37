// mobilekit Android demo: a Compose app (:app) and the platform-free core (:core) it shares with
// the benchmark harness; the one copy lives in ../mobile/kotlin.
pluginManagement {
    repositories {
        google()
        mavenCentral()
        gradlePluginPortal()
    }
}

// jvmToolchain(17) in :app and :core: Gradle downloads a JDK 17 when none is installed (foojay
// resolver), so a fresh Android Studio or CI machine builds without a hand-installed JDK.
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

rootProject.name = "mobilekit-demo"
include(":app", ":core")
project(":core").projectDir = file("../mobile/kotlin")
