import CoreML
import Foundation
import MobileKitCore
import MobileKitCoreML
import XCTest

/// Translation bundles: every Core ML encoder/decoder pair of one variant (the unit the SDK
/// verified) × each compute-unit setting, run over the bundle's golden sentences with greedy
/// decoding and the decoder cache, exactly as the demo app does (MobileKitCoreML's
/// CoreMLSeq2SeqRunner feeds each input in the dtype the model declares). One
/// `mobilekit.bench/1` result per pair and setting: the runs are decoder steps (per-token
/// latency), the encoder's time is in the notes, and so is how many sentences reproduced the
/// golden ids. Settings and outputs as in BenchRun.
final class Seq2SeqBenchmarkTests: XCTestCase {
    @MainActor
    func testBenchmarkEveryCoreMLPair() async throws {
        guard let run = try BenchRun.start() else { return }
        guard let spec = run.manifest.translation else {
            throw XCTSkip("not a translation bundle (CoreMLBenchmarkTests benchmarks it)")
        }
        let sentences = try GoldenSentence.load(run.root.appendingPathComponent(spec.golden ?? "assets/golden/translation.json"))
        let pairs = ModelChoices.seq2seqPairs(run.manifest, target: "coreml").filter { run.only.isEmpty || run.only.contains($0.variant) }
        if pairs.isEmpty { throw XCTSkip("the bundle has no Core ML encoder and decoder of one variant") }
        var failures: [String] = []
        for pair in pairs {
            guard let encoder = pair.encoder, let decoder = pair.decoder else { continue }
            let sha = try bundleSha256(run.root.appendingPathComponent(decoder.path))
            let t0 = DispatchTime.now()
            let encoderURL = try await MLModel.compileModel(at: run.root.appendingPathComponent(encoder.path))
            let decoderURL = try await MLModel.compileModel(at: run.root.appendingPathComponent(decoder.path))
            let initMs = elapsedMs(since: t0)
            defer {
                try? FileManager.default.removeItem(at: encoderURL)
                try? FileManager.default.removeItem(at: decoderURL)
            }
            for unit in run.units {
                let result = benchmark(pair: pair, encoderURL: encoderURL, decoderURL: decoderURL, spec: spec, sentences: sentences,
                                       sha: sha, unit: unit, initMs: initMs, run: run)
                try run.emit(result, from: self)
                if result.status == "failed" { failures.append("\(pair.variant) \(unit.name): \(result.error ?? "")") }
            }
        }
        print("mobilekit: wrote results to \(run.outDir.path)")
        XCTAssertTrue(failures.isEmpty, "benchmarks failed: \(failures)")
    }

    private func benchmark(pair: ModelChoice, encoderURL: URL, decoderURL: URL, spec: TranslationSpec, sentences: [GoldenSentence],
                           sha: String, unit: (name: String, units: MLComputeUnits, backend: String), initMs: Double,
                           run: BenchRun) -> BenchResult {
        let warmup = run.warmup
        let runs = run.runs
        var notes = [
            "translation: encoder \(pair.encoder?.path ?? "?") + decoder \(pair.decoder?.path ?? "?") (variant \(pair.variant), one pair)",
            "runs are decoder steps with the cache (per-token latency) over \(sentences.count) golden sentences, greedy decoding",
            "init: compiling both .mlpackages; load: MLModel(contentsOf:configuration:) for both; first inference: the first sentence's encoder and first step",
        ]
        func result(_ status: String, _ error: String?, _ timings: Timings?) -> BenchResult {
            BenchResult(tool: "mobilekit ios harness (XCTest)", device: run.device, runtimeName: "coreml",
                        runtimeVersion: run.runtimeVersion, artifact: pair.decoder ?? pair.artifacts[0], modelSha256: sha,
                        backend: unit.backend, computeUnits: unit.name, warmupRuns: warmup, runs: timings?.runsMs.count ?? runs, status: status,
                        error: error, timings: timings, notes: notes)
        }
        guard let encoderArtifact = pair.encoder, let decoderArtifact = pair.decoder, !sentences.isEmpty else {
            return result("failed", "no encoder/decoder pair or no golden sentences", nil)
        }
        do {
            let memory = PeakMemory()
            let config = MLModelConfiguration()
            config.computeUnits = unit.units
            memory.reset()
            let t0 = DispatchTime.now()
            let encoder = try MLModel(contentsOf: encoderURL, configuration: config)
            let decoder = try MLModel(contentsOf: decoderURL, configuration: config)
            let loadMs = elapsedMs(since: t0)
            memory.sample()
            let runner = try CoreMLSeq2SeqRunner(encoder: encoder, decoder: decoder, spec: spec,
                                                 encoderArtifact: encoderArtifact, decoderArtifact: decoderArtifact)
            func decode(_ s: GoldenSentence) throws -> DecodeResult {
                try GreedyDecoder.decode(sourceIds: s.sourceIds, runner: runner, special: spec.specialTokens, maxTargetLen: spec.maxTargetLen)
            }
            let t = DispatchTime.now()
            try runner.start(sourceIds: sentences[0].sourceIds)
            _ = try runner.step(token: spec.specialTokens.bos, position: 0)
            let firstMs = elapsedMs(since: t)
            memory.sample()
            for i in 0..<warmup { _ = try decode(sentences[i % sentences.count]) }
            var stepsMs: [Double] = []
            var encoderMs: [Double] = []
            var matched = 0
            var decoded = 0
            var i = 0
            // whole sentences until at least `runs` decoder steps were timed (and every sentence once)
            while stepsMs.count < runs || decoded < sentences.count {
                let s = sentences[i % sentences.count]
                let out = try decode(s)
                stepsMs += out.stepMs
                encoderMs.append(out.encoderMs)
                if i < sentences.count {
                    decoded += 1
                    if out.ids == s.outputIds { matched += 1 }
                }
                memory.sample()
                i += 1
            }
            let encoderP50 = Stats.latency(encoderMs)?.p50 ?? 0
            notes.append(String(format: "encoder p50 %.3f ms over %ld runs", encoderP50, encoderMs.count))
            notes.append("\(matched) of \(sentences.count) golden sentences reproduced the golden output ids exactly")
            return result("ok", nil, Timings(initMs: initMs, loadMs: loadMs, firstInferenceMs: firstMs, runsMs: stepsMs, memory: memory.result()))
        } catch {
            return result("failed", "\(type(of: error)): \(error.localizedDescription)", nil)
        }
    }
}
