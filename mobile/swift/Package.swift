// swift-tools-version:6.0
// MobileKitCore: the pure-Swift core of the iOS demo app (Foundation only, no UIKit/Core ML),
// so it builds and its tests run with `swift test` on macOS or Linux. MobileKitCoreML: the Core ML
// side the app and the iOS harness share (MultiArrays, the Core ML seq2seq runner); empty where
// there is no Core ML. Tools 6.0: Swift 6
// language mode, strict concurrency checking (every public value type is Sendable).
import PackageDescription

let package = Package(
    name: "MobileKitCore",
    platforms: [.iOS(.v16), .macOS(.v13)],
    products: [
        .library(name: "MobileKitCore", targets: ["MobileKitCore"]),
        .library(name: "MobileKitCoreML", targets: ["MobileKitCoreML"]),
    ],
    targets: [
        .target(name: "MobileKitCore", swiftSettings: [.swiftLanguageMode(.v6)]),
        .target(name: "MobileKitCoreML", dependencies: ["MobileKitCore"], swiftSettings: [.swiftLanguageMode(.v6)]),
        // Golden-vector tests read bundles named by MOBILEKIT_DIGITS_BUNDLE and
        // MOBILEKIT_TRANSLATOR_BUNDLE (skipped when unset); the rest are self-contained.
        // Fixtures/ (tokenizer.json files and golden outputs written by Fixtures/make_fixtures.py
        // with Hugging Face tokenizers and mobilekit's decoding) is copied whole into the test
        // bundle: Bundle.module.url(forResource: "Fixtures", withExtension: nil).
        .testTarget(
            name: "MobileKitCoreTests",
            dependencies: ["MobileKitCore"],
            resources: [.copy("Fixtures")],
            swiftSettings: [.swiftLanguageMode(.v6)]
        ),
    ]
)
