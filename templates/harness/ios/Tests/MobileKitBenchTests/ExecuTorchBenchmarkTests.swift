import ExecuTorch
import Foundation
import MobileKitCore
import XCTest

/// The ExecuTorch Swift package this harness links: Package.swift's branch is "swiftpm-<this>".
let executorchVersion = "1.0.1"

/// Benchmarks every ExecuTorch program (`.pte`) of the bundle with the ExecuTorch Swift package
/// (`Module(filePath:)`, `load("forward")`, `forward`): XNNPACK programs on the CPU, the
/// `coreml` / `coreml-int8` variants through the Core ML delegate (`backend_coreml`). Inputs
/// are positional, in the order of the artifact's manifest `inputs`, each a tensor of the
/// manifest's shape and dtype (float32; int32 / int64 ids); outputs are read back to the host.
/// One `mobilekit.bench/1` result per program (BenchRun: Documents/mobilekit-bench, an XCTest
/// attachment, a `MOBILEKIT-BENCH-JSON {…}` log line); translation bundles are benchmarked per
/// encoder/decoder pair with the KV cache, as Seq2SeqBenchmarkTests does for Core ML.
final class ExecuTorchBenchmarkTests: XCTestCase {
    @MainActor
    func testBenchmarkEveryExecuTorchProgram() throws {
        guard let run = try BenchRun.start() else { return }
        if run.manifest.translation != nil {
            throw XCTSkip("a translation bundle (testBenchmarkEveryExecuTorchPair benchmarks its encoder/decoder pairs)")
        }
        let golden = try Golden.load(folder: run.root.appendingPathComponent(run.manifest.golden ?? "assets/golden/"))
        let programs = run.manifest.artifacts.filter {
            $0.target == "executorch" && $0.usable && (run.only.isEmpty || run.only.contains($0.variant))
        }
        if programs.isEmpty { throw XCTSkip("the bundle has no ExecuTorch program") }
        var failures: [String] = []
        for artifact in programs {
            let url = run.root.appendingPathComponent(artifact.path)
            let result = benchmark(artifact: artifact, url: url, sha: try bundleSha256(url), golden: golden, run: run)
            try run.emit(result, from: self)
            if result.status == "failed" { failures.append("\(artifact.label): \(result.error ?? "")") }
        }
        print("mobilekit: wrote results to \(run.outDir.path)")
        XCTAssertTrue(failures.isEmpty, "benchmarks failed: \(failures)")
    }

    @MainActor
    func testBenchmarkEveryExecuTorchPair() throws {
        guard let run = try BenchRun.start() else { return }
        guard let spec = run.manifest.translation else {
            throw XCTSkip("not a translation bundle (testBenchmarkEveryExecuTorchProgram benchmarks it)")
        }
        let sentences = try GoldenSentence.load(run.root.appendingPathComponent(spec.golden ?? "assets/golden/translation.json"))
        let pairs = ModelChoices.seq2seqPairs(run.manifest, target: "executorch")
            .filter { run.only.isEmpty || run.only.contains($0.variant) }
        if pairs.isEmpty { throw XCTSkip("the bundle has no ExecuTorch encoder and decoder of one variant") }
        var failures: [String] = []
        for pair in pairs {
            guard let decoder = pair.decoder else { continue }
            let sha = try bundleSha256(run.root.appendingPathComponent(decoder.path))
            let result = benchmark(pair: pair, spec: spec, sentences: sentences, sha: sha, run: run)
            try run.emit(result, from: self)
            if result.status == "failed" { failures.append("\(pair.variant): \(result.error ?? "")") }
        }
        print("mobilekit: wrote results to \(run.outDir.path)")
        XCTAssertTrue(failures.isEmpty, "benchmarks failed: \(failures)")
    }

    private func benchmark(artifact: Artifact, url: URL, sha: String, golden: Golden, run: BenchRun) -> BenchResult {
        let warmup = run.warmup
        let runs = run.runs
        func result(_ status: String, _ error: String?, _ timings: Timings?) -> BenchResult {
            BenchResult(tool: "mobilekit ios harness (XCTest)", device: run.device, runtimeName: "executorch",
                        runtimeVersion: executorchVersion, artifact: artifact, modelSha256: sha,
                        backend: ExecuTorchPrograms.backend(artifact), computeUnits: nil, warmupRuns: warmup, runs: runs,
                        status: status, error: error, timings: timings, notes: [
                            "delegate: \(ExecuTorchPrograms.delegate(artifact)); threads: the package's default thread pool",
                            "init: Module(filePath:loadMode: .mmap); load: load(\"forward\") (program and method, delegate init)",
                            "first inference is one forward call after load, outside the \(warmup) warm-up and \(runs) measured runs",
                        ])
        }
        do {
            let memory = PeakMemory()
            var t = DispatchTime.now()
            let module = Module(filePath: url.path, loadMode: .mmap)
            let initMs = elapsedMs(since: t)
            memory.reset()
            t = DispatchTime.now()
            try module.load(ExecuTorchPrograms.method)
            let loadMs = elapsedMs(since: t)
            memory.sample()
            let feeds = try (0..<golden.samples).map { sample in
                try artifact.inputs.map { input -> Value in
                    guard let values = golden.inputs[input.name] else { throw ExecuTorchBenchError.noGoldenInput(input.name) }
                    let one = try values.sample(sample)
                    return try ExecuTorchPrograms.value(one.floats(), dtype: input.dtype, shape: one.shape)
                }
            }
            t = DispatchTime.now()
            _ = try ExecuTorchPrograms.forward(module, artifact: artifact, inputs: feeds[0])
            let firstMs = elapsedMs(since: t)
            memory.sample()
            for i in 0..<warmup { _ = try ExecuTorchPrograms.forward(module, artifact: artifact, inputs: feeds[(i + 1) % feeds.count]) }
            var runsMs: [Double] = []
            runsMs.reserveCapacity(runs)
            for i in 0..<runs {
                t = DispatchTime.now()
                _ = try ExecuTorchPrograms.forward(module, artifact: artifact, inputs: feeds[i % feeds.count])
                runsMs.append(elapsedMs(since: t))
                memory.sample()
            }
            return result("ok", nil, Timings(initMs: initMs, loadMs: loadMs, firstInferenceMs: firstMs, runsMs: runsMs, memory: memory.result()))
        } catch {
            return result("failed", "\(type(of: error)): \(error.localizedDescription)", nil)
        }
    }

    private func benchmark(pair: ModelChoice, spec: TranslationSpec, sentences: [GoldenSentence], sha: String, run: BenchRun) -> BenchResult {
        let warmup = run.warmup
        let runs = run.runs
        let first = pair.decoder ?? pair.artifacts[0]
        var notes = [
            "translation: encoder \(pair.encoder?.path ?? "?") + decoder \(pair.decoder?.path ?? "?") (variant \(pair.variant), one pair)",
            "runs are decoder steps with the cache (per-token latency) over \(sentences.count) golden sentences, greedy decoding",
            "delegate: \(ExecuTorchPrograms.delegate(first)); init: Module(filePath:) for both; load: load(\"forward\") for both",
        ]
        func result(_ status: String, _ error: String?, _ timings: Timings?) -> BenchResult {
            BenchResult(tool: "mobilekit ios harness (XCTest)", device: run.device, runtimeName: "executorch",
                        runtimeVersion: executorchVersion, artifact: first, modelSha256: sha,
                        backend: ExecuTorchPrograms.backend(first), computeUnits: nil, warmupRuns: warmup,
                        runs: timings?.runsMs.count ?? runs, status: status, error: error, timings: timings, notes: notes)
        }
        guard let encoderArtifact = pair.encoder, let decoderArtifact = pair.decoder, !sentences.isEmpty else {
            return result("failed", "no encoder/decoder pair or no golden sentences", nil)
        }
        do {
            let memory = PeakMemory()
            var t = DispatchTime.now()
            let encoder = Module(filePath: run.root.appendingPathComponent(encoderArtifact.path).path, loadMode: .mmap)
            let decoder = Module(filePath: run.root.appendingPathComponent(decoderArtifact.path).path, loadMode: .mmap)
            let initMs = elapsedMs(since: t)
            memory.reset()
            t = DispatchTime.now()
            try encoder.load(ExecuTorchPrograms.method)
            try decoder.load(ExecuTorchPrograms.method)
            let loadMs = elapsedMs(since: t)
            memory.sample()
            let runner = try ExecuTorchSeq2SeqRunner(encoder: encoder, decoder: decoder, spec: spec,
                                                     encoderArtifact: encoderArtifact, decoderArtifact: decoderArtifact)
            func decode(_ s: GoldenSentence) throws -> DecodeResult {
                try GreedyDecoder.decode(sourceIds: s.sourceIds, runner: runner, special: spec.specialTokens, maxTargetLen: spec.maxTargetLen)
            }
            t = DispatchTime.now()
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

enum ExecuTorchBenchError: LocalizedError {
    case noGoldenInput(String)
    case dtype(String)
    case outputs(String)

    var errorDescription: String? {
        switch self {
        case .noGoldenInput(let name): return "no golden input \(name)"
        case .dtype(let what): return "unsupported ExecuTorch tensor dtype \(what)"
        case .outputs(let what): return what
        }
    }
}

/// Tensors in and out of a `.pte`, as the manifest describes them.
enum ExecuTorchPrograms {
    /// The method every mobilekit `.pte` has.
    static let method = "forward"

    /// What runs the program's delegated part: the Core ML delegate for the coreml variants, else XNNPACK on the CPU.
    static func usesCoreML(_ artifact: Artifact) -> Bool { artifact.variant.hasPrefix("coreml") }

    static func backend(_ artifact: Artifact) -> String { usesCoreML(artifact) ? "coreml" : "cpu" }

    static func delegate(_ artifact: Artifact) -> String { usesCoreML(artifact) ? "Core ML (backend_coreml)" : "XNNPACK (backend_xnnpack)" }

    /// An input tensor in the manifest's dtype (float32, or int32 / int64 ids; int32 stays int32).
    static func value(_ floats: [Float], dtype: String?, shape: [Int]) throws -> Value {
        switch dtype ?? "float32" {
        case "float32": return Value(Tensor<Float>(floats, shape: shape))
        case "int32": return Value(Tensor<Int32>(floats.map { Int32($0) }, shape: shape))
        case "int64": return Value(Tensor<Int64>(floats.map { Int64($0) }, shape: shape))
        default: throw ExecuTorchBenchError.dtype(dtype ?? "?")
        }
    }

    /// Integer ids (source ids, a token, a position) in the manifest's dtype.
    static func ids(_ ids: [Int], dtype: String?, shape: [Int]) throws -> Value {
        switch dtype ?? "int64" {
        case "int32": return Value(Tensor<Int32>(ids.map { Int32($0) }, shape: shape))
        case "int64": return Value(Tensor<Int64>(ids.map { Int64($0) }, shape: shape))
        case "float32": return Value(Tensor<Float>(ids.map { Float($0) }, shape: shape))
        default: throw ExecuTorchBenchError.dtype(dtype ?? "?")
        }
    }

    /// Runs forward; the outputs are read back to the host (as floats), as an app would.
    static func forward(_ module: Module, artifact: Artifact, inputs: [Value]) throws -> [Value] {
        let outputs: [Value] = try module.forward(inputs)
        if outputs.count < artifact.outputs.count {
            throw ExecuTorchBenchError.outputs("\(artifact.path) gave \(outputs.count) output(s); the manifest lists \(artifact.outputs.count)")
        }
        for output in outputs.prefix(artifact.outputs.count) { _ = try floats(output) }
        return outputs
    }

    /// A tensor output's values as floats.
    static func floats(_ value: Value) throws -> [Float] {
        guard let tensor = value.anyTensor else { throw ExecuTorchBenchError.outputs("an output is not a tensor") }
        switch tensor.dataType {
        case .float: return Tensor<Float>(tensor).withUnsafeBytes { Array($0) }
        case .int: return Tensor<Int32>(tensor).withUnsafeBytes { $0.map { Float($0) } }
        case .long: return Tensor<Int64>(tensor).withUnsafeBytes { $0.map { Float($0) } }
        default: throw ExecuTorchBenchError.dtype("\(tensor.dataType)")
        }
    }
}

/// A translation bundle's ExecuTorch encoder and decoder step behind the core's Seq2SeqRunner:
/// what each input is comes from the core's Seq2SeqPlan (the manifest's `translation` lists);
/// values are passed in the order of each artifact's manifest `inputs`, outputs read in the
/// order of its `outputs`; the cache starts at zeros and each step's cache outputs are fed back.
/// Outputs the runner keeps (encoder memory, cache) are copied: a returned tensor is a view of
/// the program's output buffer, which the next call overwrites.
final class ExecuTorchSeq2SeqRunner: Seq2SeqRunner {
    private let encoder: Module
    private let decoder: Module
    private let spec: TranslationSpec
    private let plan: Seq2SeqPlan
    private let encoderInputs: [TensorSpec]
    private let encoderOutputs: [TensorSpec]
    private let decoderInputs: [TensorSpec]
    private let decoderOutputs: [TensorSpec]
    private var sourceIds: [Int] = []
    private var memory: [String: Value] = [:]  // encoder outputs by manifest name
    private var cache: [String: Value] = [:]  // decoder cache inputs by manifest name

    init(encoder: Module, decoder: Module, spec: TranslationSpec, encoderArtifact: Artifact, decoderArtifact: Artifact) throws {
        self.encoder = encoder
        self.decoder = decoder
        self.spec = spec
        plan = try Seq2SeqPlan(spec: spec)
        encoderInputs = encoderArtifact.inputs.isEmpty ? spec.encoder.inputs : encoderArtifact.inputs
        encoderOutputs = encoderArtifact.outputs.isEmpty ? spec.encoder.outputs : encoderArtifact.outputs
        decoderInputs = decoderArtifact.inputs.isEmpty ? spec.decoder.inputs : decoderArtifact.inputs
        decoderOutputs = decoderArtifact.outputs.isEmpty ? spec.decoder.outputs : decoderArtifact.outputs
    }

    func start(sourceIds: [Int]) throws {
        self.sourceIds = sourceIds
        var feeds: [String: Value] = [:]
        for (declared, role) in plan.encoderInputs {
            let tensor = Self.find(declared, in: encoderInputs)
            let shape = tensor.shape ?? [1, sourceIds.count]
            switch role {
            case .sourceIds:
                feeds[declared.name] = try ExecuTorchPrograms.ids(sourceIds, dtype: tensor.dtype, shape: shape)
            case .sourceMask(let padMeansOne):
                let mask = Seq2SeqPlan.mask(sourceIds, pad: spec.specialTokens.pad, padMeansOne: padMeansOne)
                feeds[declared.name] = try ExecuTorchPrograms.ids(mask, dtype: tensor.dtype, shape: shape)
            }
        }
        let outputs = try run(encoder, inputs: encoderInputs, feeds: feeds, outputs: encoderOutputs, graph: "encoder")
        memory = [:]
        for (i, tensor) in encoderOutputs.enumerated() {
            memory[tensor.name] = try Self.copy(outputs[i])
        }
        cache = [:]
        for (declared, role) in plan.decoderInputs where role == .cache {
            let tensor = Self.find(declared, in: decoderInputs)
            let shape = tensor.shape ?? [1]
            cache[declared.name] = Value(Tensor<Float>([Float](repeating: 0, count: elementCount(ofShape: shape)), shape: shape))
        }
    }

    func step(token: Int, position: Int) throws -> [Float] {
        var feeds: [String: Value] = [:]
        for (declared, role) in plan.decoderInputs {
            let tensor = Self.find(declared, in: decoderInputs)
            let shape = tensor.shape ?? [1]
            switch role {
            case .token:
                feeds[declared.name] = try ExecuTorchPrograms.ids([token], dtype: tensor.dtype, shape: shape)
            case .position:
                feeds[declared.name] = try ExecuTorchPrograms.ids([position], dtype: tensor.dtype, shape: shape)
            case .sourceIds:
                feeds[declared.name] = try ExecuTorchPrograms.ids(sourceIds, dtype: tensor.dtype, shape: shape)
            case .sourceMask(let padMeansOne):
                let mask = Seq2SeqPlan.mask(sourceIds, pad: spec.specialTokens.pad, padMeansOne: padMeansOne)
                feeds[declared.name] = try ExecuTorchPrograms.ids(mask, dtype: tensor.dtype, shape: shape)
            case .memory(let name):
                guard let value = memory[name] else { throw ExecuTorchBenchError.outputs("no encoder output \(name) for \(declared.name)") }
                feeds[declared.name] = value
            case .cache:
                guard let value = cache[declared.name] else { throw ExecuTorchBenchError.outputs("no cache for \(declared.name)") }
                feeds[declared.name] = value
            }
        }
        let outputs = try run(decoder, inputs: decoderInputs, feeds: feeds, outputs: decoderOutputs, graph: "decoder")
        func output(_ declared: TensorSpec) throws -> Value {
            guard let i = decoderOutputs.firstIndex(where: { $0.name == declared.name }) else {
                throw ExecuTorchBenchError.outputs("the decoder artifact lists no output \(declared.name)")
            }
            return outputs[i]
        }
        for pair in plan.cachePairs {
            cache[pair.input.name] = try Self.copy(try output(pair.output))
        }
        let values = try ExecuTorchPrograms.floats(try output(plan.logits))
        return Array(values[Seq2SeqPlan.logitsRange(count: values.count, vocabSize: spec.vocabSize, position: position)])
    }

    /// Positional call: the artifact's inputs in order, by manifest name.
    private func run(_ module: Module, inputs: [TensorSpec], feeds: [String: Value], outputs: [TensorSpec], graph: String) throws -> [Value] {
        let values = try inputs.map { tensor -> Value in
            guard let value = feeds[tensor.name] else { throw ExecuTorchBenchError.outputs("nothing to feed the \(graph) input \(tensor.name)") }
            return value
        }
        let result: [Value] = try module.forward(values)
        if result.count < outputs.count {
            throw ExecuTorchBenchError.outputs("the \(graph) gave \(result.count) output(s); the manifest lists \(outputs.count)")
        }
        return result
    }

    private static func find(_ declared: TensorSpec, in tensors: [TensorSpec]) -> TensorSpec {
        guard let actual = tensors.first(where: { $0.name == declared.name }) else { return declared }
        var t = declared
        t.dtype = actual.dtype ?? declared.dtype
        t.shape = actual.shape ?? declared.shape
        return t
    }

    private static func copy(_ value: Value) throws -> Value {
        guard let tensor = value.anyTensor else { throw ExecuTorchBenchError.outputs("an output is not a tensor") }
        return Value(tensor.copy())
    }
}
