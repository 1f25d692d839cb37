// swift-tools-version:6.0
// The mobilekit device benchmark for iOS (and macOS), generated into <bundle>/harness/ios/.
// scripts/prepare.sh copies the bundle's Core ML packages, ExecuTorch programs, manifest and assets
// (golden inputs, tokenizer) into Tests/MobileKitBenchTests/Resources/bundle before a run. MobileKitCore/
// is the Swift core the iOS demo app uses too (mobile/swift in the mobilekit repo), copied in when
// the harness is rendered. ExecuTorch is the prebuilt Swift package of github.com/pytorch/executorch
// (branch swiftpm-<version>; ExecuTorchBenchmarkTests.swift's executorchVersion names the same
// version); it needs iOS 17 / macOS 12, hence this package's iOS 17.
import PackageDescription

let package = Package(
    name: "MobileKitBench",
    platforms: [.iOS(.v17), .macOS(.v13)],
    dependencies: [
        .package(path: "MobileKitCore"),
        .package(url: "https://github.com/pytorch/executorch.git", branch: "swiftpm-1.0.1"),
    ],
    targets: [
        // The Core ML benchmark: every .mlpackage (or encoder/decoder pair) × compute-unit setting;
        // the ExecuTorch benchmark: every .pte (or encoder/decoder pair), XNNPACK or the Core ML delegate.
        .testTarget(
            name: "MobileKitBenchTests",
            dependencies: [
                .product(name: "MobileKitCore", package: "MobileKitCore"),
                .product(name: "MobileKitCoreML", package: "MobileKitCore"),
                .product(name: "executorch", package: "executorch"),
                .product(name: "backend_xnnpack", package: "executorch"),
                .product(name: "backend_coreml", package: "executorch"),
                .product(name: "kernels_optimized", package: "executorch"),
                .product(name: "kernels_quantized", package: "executorch"),
            ],
            resources: [.copy("Resources/bundle")],
            // ExecuTorch's backends and kernels register from static initializers: load every
            // symbol of its static libraries (as its docs say for Swift PM), or they are dropped.
            linkerSettings: [.unsafeFlags(["-Wl,-all_load"])]
        ),
    ]
)
