// mobilekit Android demo: a Compose app (:app) and the platform-free core (:core) it shares with
// the benchmark harness; the one copy lives in ../mobile/kotlin.
pluginManagement {
    repositories {
        google()
        mavenCentral()
        gradlePluginPortal()
    }
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
