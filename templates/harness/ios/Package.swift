// swift-tools-version:5.9
// The mobilekit device benchmark for iOS (and macOS), generated into <bundle>/harness/ios/.
// scripts/prepare.sh copies the bundle's Core ML packages, manifest and golden inputs into
// Tests/MobileKitBenchTests/Resources/bundle before a run.
import PackageDescription

let package = Package(
    name: "MobileKitBench",
    platforms: [.iOS(.v16), .macOS(.v13)],
    products: [
        .library(name: "MobileKitBenchCore", targets: ["MobileKitBenchCore"]),
    ],
    targets: [
        // Pure Swift (Foundation only): statistics, .npy reading, manifest and result JSON.
        .target(name: "MobileKitBenchCore"),
        .testTarget(
            name: "MobileKitBenchCoreTests",
            dependencies: ["MobileKitBenchCore"]
        ),
        // The Core ML benchmark: every .mlpackage × compute-unit setting.
        .testTarget(
            name: "MobileKitBenchTests",
            dependencies: ["MobileKitBenchCore"],
            resources: [.copy("Resources/bundle")]
        ),
    ]
)
