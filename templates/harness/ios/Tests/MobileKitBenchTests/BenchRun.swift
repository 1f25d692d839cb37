import CoreML
import Foundation
import MobileKitCore
import XCTest

/// What both benchmarks share: the run settings from the environment, the bundle copied into
/// the test's resources, where results go, and how each result is handed out.
///
/// Environment (with xcodebuild, prefix each with TEST_RUNNER_): MOBILEKIT_RUNS (50),
/// MOBILEKIT_WARMUP (5), MOBILEKIT_COMPUTE_UNITS (cpuOnly,cpuAndGPU,cpuAndNeuralEngine,all),
/// MOBILEKIT_ONLY (comma-separated variants).
struct BenchRun {
    static let allUnits: [(name: String, units: MLComputeUnits, backend: String)] = [
        ("cpuOnly", .cpuOnly, "cpu"),
        ("cpuAndGPU", .cpuAndGPU, "gpu"),
        ("cpuAndNeuralEngine", .cpuAndNeuralEngine, "npu"),
        ("all", .all, "all"),
    ]

    let runs: Int
    let warmup: Int
    let units: [(name: String, units: MLComputeUnits, backend: String)]
    let only: Set<String>
    let root: URL
    let manifest: BundleManifest
    let device: DeviceInfo
    let outDir: URL

    /// Reads the settings and the bundle (nil, after an XCTest failure, when prepare.sh was not run).
    static func start() throws -> BenchRun? {
        let env = ProcessInfo.processInfo.environment
        let wanted = Set((env["MOBILEKIT_COMPUTE_UNITS"] ?? "cpuOnly,cpuAndGPU,cpuAndNeuralEngine,all").split(separator: ",").map(String.init))
        guard let root = Bundle.module.url(forResource: "bundle", withExtension: nil),
              FileManager.default.fileExists(atPath: root.appendingPathComponent("manifest.json").path) else {
            XCTFail("Resources/bundle has no manifest.json: run scripts/prepare.sh first")
            return nil
        }
        let outDir = try FileManager.default.url(for: .documentDirectory, in: .userDomainMask, appropriateFor: nil, create: true)
            .appendingPathComponent("mobilekit-bench")
        try FileManager.default.createDirectory(at: outDir, withIntermediateDirectories: true)
        return BenchRun(
            runs: Int(env["MOBILEKIT_RUNS"] ?? "") ?? 50,
            warmup: Int(env["MOBILEKIT_WARMUP"] ?? "") ?? 5,
            units: allUnits.filter { wanted.contains($0.name) },
            only: Set((env["MOBILEKIT_ONLY"] ?? "").split(separator: ",").map(String.init)),
            root: root,
            manifest: try BundleManifest.parse(Data(contentsOf: root.appendingPathComponent("manifest.json"))),
            device: currentDevice(),
            outDir: outDir
        )
    }

    /// "iOS 18.1.0" / "macOS 15.1.0": the Core ML runtime is the OS's.
    var runtimeVersion: String {
        let v = ProcessInfo.processInfo.operatingSystemVersion
        return "\(device.platform == "ios" ? "iOS" : "macOS") \(v.majorVersion).\(v.minorVersion).\(v.patchVersion)"
    }

    /// Writes one result to Documents/mobilekit-bench, attaches it to the test and prints the
    /// `MOBILEKIT-BENCH-JSON {…}` line `mobilekit bench import BUNDLE xcodebuild.log` reads.
    @MainActor
    func emit(_ result: BenchResult, from test: XCTestCase) throws {
        let data = try result.json()
        try data.write(to: outDir.appendingPathComponent(result.fileName))
        let attachment = XCTAttachment(data: data, uniformTypeIdentifier: "public.json")
        attachment.name = result.fileName
        attachment.lifetime = .keepAlways
        test.add(attachment)
        print("MOBILEKIT-BENCH-JSON \(String(decoding: try result.json(pretty: false), as: UTF8.self))")
    }
}

func elapsedMs(since start: DispatchTime) -> Double {
    Double(DispatchTime.now().uptimeNanoseconds - start.uptimeNanoseconds) / 1e6
}
