import CoreML
import CoreVideo
import Foundation
import MobileKitCore
import MobileKitCoreML
import XCTest

/// Benchmarks every Core ML package of an image-classification or generic bundle with each
/// compute-unit setting and writes one `mobilekit.bench/1` JSON per configuration (BenchRun:
/// Documents/mobilekit-bench, an XCTest attachment, a `MOBILEKIT-BENCH-JSON {…}` log line).
final class CoreMLBenchmarkTests: XCTestCase {
    @MainActor
    func testBenchmarkEveryCoreMLPackage() async throws {
        guard let run = try BenchRun.start() else { return }
        if run.manifest.translation != nil {
            throw XCTSkip("a translation bundle (Seq2SeqBenchmarkTests benchmarks its encoder/decoder pairs)")
        }
        let golden = try Golden.load(folder: run.root.appendingPathComponent(run.manifest.golden ?? "assets/golden/"))
        let packages = run.manifest.artifacts.filter {
            $0.target == "coreml" && $0.usable && (run.only.isEmpty || run.only.contains($0.variant))
        }
        if packages.isEmpty { throw XCTSkip("the bundle has no Core ML package (ExecuTorchBenchmarkTests benchmarks its .pte programs)") }
        var failures: [String] = []
        for artifact in packages {
            let packageURL = run.root.appendingPathComponent(artifact.path)
            let sha = try bundleSha256(packageURL)
            // init: compiling the .mlpackage to .mlmodelc (done once per package; every compute
            // unit setting loads the same compiled model).
            let t0 = DispatchTime.now()
            let compiled = try await MLModel.compileModel(at: packageURL)
            let initMs = elapsedMs(since: t0)
            defer { try? FileManager.default.removeItem(at: compiled) }
            for unit in run.units {
                let result = benchmark(artifact: artifact, compiled: compiled, sha: sha, unit: unit, initMs: initMs,
                                       golden: golden, run: run)
                try run.emit(result, from: self)
                if result.status == "failed" { failures.append("\(artifact.label) \(unit.name): \(result.error ?? "")") }
            }
        }
        print("mobilekit: wrote results to \(run.outDir.path)")
        XCTAssertTrue(failures.isEmpty, "benchmarks failed: \(failures)")
    }

    private func benchmark(artifact: Artifact, compiled: URL, sha: String,
                           unit: (name: String, units: MLComputeUnits, backend: String), initMs: Double,
                           golden: Golden, run: BenchRun) -> BenchResult {
        let warmup = run.warmup
        let runs = run.runs
        func result(_ status: String, _ error: String?, _ timings: Timings?) -> BenchResult {
            BenchResult(tool: "mobilekit ios harness (XCTest)", device: run.device, runtimeName: "coreml",
                        runtimeVersion: run.runtimeVersion, artifact: artifact, modelSha256: sha, backend: unit.backend,
                        computeUnits: unit.name, warmupRuns: warmup, runs: runs, status: status, error: error,
                        timings: timings, notes: [
                            "init: compiling the .mlpackage (MLModel.compileModel); load: MLModel(contentsOf:configuration:)",
                            "first inference is one call after load, outside the \(warmup) warm-up and \(runs) measured runs",
                        ])
        }
        do {
            let memory = PeakMemory()
            let config = MLModelConfiguration()
            config.computeUnits = unit.units
            memory.reset()
            let t0 = DispatchTime.now()
            let model = try MLModel(contentsOf: compiled, configuration: config)
            let loadMs = elapsedMs(since: t0)
            memory.sample()
            let feeds = try (0..<golden.samples).map { try features(model: model, artifact: artifact, golden: golden, sample: $0) }
            var t = DispatchTime.now()
            _ = try model.prediction(from: feeds[0])
            let firstMs = elapsedMs(since: t)
            memory.sample()
            for i in 0..<warmup { _ = try model.prediction(from: feeds[(i + 1) % feeds.count]) }
            var runsMs: [Double] = []
            runsMs.reserveCapacity(runs)
            for i in 0..<runs {
                t = DispatchTime.now()
                _ = try model.prediction(from: feeds[i % feeds.count])
                runsMs.append(elapsedMs(since: t))
                memory.sample()
            }
            return result("ok", nil, Timings(initMs: initMs, loadMs: loadMs, firstInferenceMs: firstMs, runsMs: runsMs, memory: memory.result()))
        } catch {
            return result("failed", "\(type(of: error)): \(error.localizedDescription)", nil)
        }
    }

    /// The golden sample as the model's features: image inputs as pixel buffers made from the
    /// golden pixels, multi-array inputs from the golden (preprocessed) inputs.
    private func features(model: MLModel, artifact: Artifact, golden: Golden, sample: Int) throws -> MLFeatureProvider {
        var dict: [String: MLFeatureValue] = [:]
        for (name, desc) in model.modelDescription.inputDescriptionsByName {
            let spec = artifact.inputs.first { $0.modelName == name }?.name ?? name
            if desc.type == .image, let constraint = desc.imageConstraint {
                guard let pixels = golden.pixels[spec] else {
                    throw NSError(domain: "mobilekit", code: 1, userInfo: [NSLocalizedDescriptionKey: "no golden pixels for image input \(spec)"])
                }
                dict[name] = MLFeatureValue(pixelBuffer: try pixelBuffer(try pixels.sample(sample), constraint: constraint))
            } else if desc.type == .multiArray, let constraint = desc.multiArrayConstraint {
                guard let input = golden.inputs[spec] else {
                    throw NSError(domain: "mobilekit", code: 2, userInfo: [NSLocalizedDescriptionKey: "no golden input \(spec)"])
                }
                // in the data type the model declares (fp16 models take fp16), written in one pass
                let array = try MultiArrays.make(try input.sample(sample).floats(), shape: constraint.shape.map { $0.intValue },
                                                 type: constraint.dataType)
                dict[name] = MLFeatureValue(multiArray: array)
            }
        }
        return try MLDictionaryFeatureProvider(dictionary: dict)
    }

    /// uint8 NHWC RGB pixels (1, H, W, C) → a BGRA or one-component pixel buffer.
    private func pixelBuffer(_ pixels: NpyArray, constraint: MLImageConstraint) throws -> CVPixelBuffer {
        let h = pixels.shape[1]
        let w = pixels.shape[2]
        let c = pixels.shape.count > 3 ? pixels.shape[3] : 1
        let gray = constraint.pixelFormatType == kCVPixelFormatType_OneComponent8
        var buffer: CVPixelBuffer?
        let attrs = [kCVPixelBufferIOSurfacePropertiesKey: [:]] as CFDictionary
        let status = CVPixelBufferCreate(kCFAllocatorDefault, w, h, gray ? kCVPixelFormatType_OneComponent8 : kCVPixelFormatType_32BGRA, attrs, &buffer)
        guard status == kCVReturnSuccess, let pb = buffer else {
            throw NSError(domain: "mobilekit", code: 3, userInfo: [NSLocalizedDescriptionKey: "CVPixelBufferCreate failed (\(status))"])
        }
        let bytes = pixels.bytes()
        CVPixelBufferLockBaseAddress(pb, [])
        defer { CVPixelBufferUnlockBaseAddress(pb, []) }
        let base = CVPixelBufferGetBaseAddress(pb)!.assumingMemoryBound(to: UInt8.self)
        let stride = CVPixelBufferGetBytesPerRow(pb)
        for y in 0..<h {
            for x in 0..<w {
                let src = (y * w + x) * c
                let r = bytes[src]
                let g = c > 1 ? bytes[src + 1] : r
                let b = c > 2 ? bytes[src + 2] : r
                if gray {
                    base[y * stride + x] = r
                } else {
                    base[y * stride + x * 4] = b
                    base[y * stride + x * 4 + 1] = g
                    base[y * stride + x * 4 + 2] = r
                    base[y * stride + x * 4 + 3] = 255
                }
            }
        }
        return pb
    }
}
