// swift-tools-version:6.0
// The mobilekit device benchmark for iOS (and macOS), generated into <bundle>/harness/ios/.
// scripts/prepare.sh copies the bundle's Core ML packages, manifest and assets (golden inputs,
// tokenizer) into Tests/MobileKitBenchTests/Resources/bundle before a run. MobileKitCore/ is the Swift core the
// iOS demo app uses too (mobile/swift in the mobilekit repo), copied in when the harness is rendered.
import PackageDescription

let package = Package(
    name: "MobileKitBench",
    platforms: [.iOS(.v16), .macOS(.v13)],
    dependencies: [
        .package(path: "MobileKitCore"),
    ],
    targets: [
        // The Core ML benchmark: every .mlpackage (or encoder/decoder pair) × compute-unit setting.
        .testTarget(
            name: "MobileKitBenchTests",
            dependencies: [
                .product(name: "MobileKitCore", package: "MobileKitCore"),
                .product(name: "MobileKitCoreML", package: "MobileKitCore"),
            ],
            resources: [.copy("Resources/bundle")]
        ),
    ]
)
