// swift-tools-version:5.9
// MobileKitCore: the pure-Swift core of the iOS demo app (Foundation only, no UIKit/Core ML),
// so it builds and its tests run with `swift test` on macOS or Linux.
import PackageDescription

let package = Package(
    name: "MobileKitCore",
    platforms: [.iOS(.v16), .macOS(.v13)],
    products: [
        .library(name: "MobileKitCore", targets: ["MobileKitCore"]),
    ],
    targets: [
        .target(name: "MobileKitCore"),
        // Golden-vector tests read bundles named by MOBILEKIT_DIGITS_BUNDLE and
        // MOBILEKIT_TRANSLATOR_BUNDLE (skipped when unset); the rest are self-contained.
        .testTarget(
            name: "MobileKitCoreTests",
            dependencies: ["MobileKitCore"]
        ),
    ]
)
