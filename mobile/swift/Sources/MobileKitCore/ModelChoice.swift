import Foundation

/// One model the user can pick: a classifier artifact, or the encoder and decoder of one
/// variant taken together (the SDK verifies a pair as a unit; a mix of variants was never checked).
public struct ModelChoice: Equatable, Sendable, Identifiable {
    public let variant: String
    /// One artifact, or the encoder then the decoder.
    public let artifacts: [Artifact]

    /// Unique across targets: a Core ML fp16 and an ExecuTorch fp16 are two choices.
    public var id: String { "\(target)/\(variant)" }
    public var target: String { artifacts.first?.target ?? "" }
    /// What runs it here (one variant of one target: every part has the same runtime); nil when the app cannot.
    public var runtime: AppRuntime? {
        guard let first = artifacts.first.flatMap(Runtimes.runtime(of:)),
              artifacts.allSatisfy({ Runtimes.runtime(of: $0) == first }) else { return nil }
        return first
    }
    /// The runtime's name for the picker ("Core ML", "ExecuTorch XNNPACK", "ExecuTorch Core ML delegate").
    public var runtimeLabel: String { runtime?.label ?? target }
    /// The parts' precisions, once each ("fp16", or "int8 / fp16" for a mixed pair).
    public var precision: String {
        var seen: [String] = []
        for p in artifacts.map({ $0.precision ?? $0.variant }) where !seen.contains(p) { seen.append(p) }
        return seen.joined(separator: " / ")
    }
    /// "verified" only when every part is; otherwise the first part's status that is not.
    public var status: String { artifacts.first { !$0.verified }?.status ?? "verified" }
    public var statusReason: String? { artifacts.first { !$0.verified }?.statusReason }
    public var verified: Bool { artifacts.allSatisfy(\.verified) }
    /// The host benchmark's p50 of each part (nil where the host could not run it).
    public var hostP50Ms: [Double?] { artifacts.map(\.hostP50Ms) }

    public init(variant: String, artifacts: [Artifact]) {
        self.variant = variant
        self.artifacts = artifacts
    }

    public var encoder: Artifact? { artifacts.first { $0.graph == "encoder" } }
    public var decoder: Artifact? { artifacts.first { $0.graph == "decoder" } }
}

public enum ModelChoices {
    /// The usable artifacts of `target` (one per variant), verified ones first, manifest order within.
    public static func classifiers(_ manifest: BundleManifest, target: String) -> [ModelChoice] {
        var seen = Set<String>()
        let choices = manifest.artifacts(target: target).filter { $0.graph == nil || $0.graph == "model" }.compactMap { a -> ModelChoice? in
            guard seen.insert(a.variant).inserted else { return nil }
            return ModelChoice(variant: a.variant, artifacts: [a])
        }
        return verifiedFirst(choices)
    }

    /// The variants of `target` with both an encoder and a decoder, each variant one unit.
    public static func seq2seqPairs(_ manifest: BundleManifest, target: String) -> [ModelChoice] {
        let encoders = manifest.artifacts(target: target, graph: "encoder")
        let decoders = manifest.artifacts(target: target, graph: "decoder")
        var seen = Set<String>()
        let choices = encoders.compactMap { e -> ModelChoice? in
            guard seen.insert(e.variant).inserted, let d = decoders.first(where: { $0.variant == e.variant }) else { return nil }
            return ModelChoice(variant: e.variant, artifacts: [e, d])
        }
        return verifiedFirst(choices)
    }

    /// The classifiers the app can run: each of `Runtimes.appTargets` in turn (Core ML first),
    /// verified ones first within a target, only artifacts of a runtime the app has.
    public static func appClassifiers(_ manifest: BundleManifest) -> [ModelChoice] {
        Runtimes.appTargets.flatMap { classifiers(manifest, target: $0) }.filter { $0.runtime != nil }
    }

    /// The encoder/decoder pairs the app can run, in the same order (a `.pte` pair runs as one unit too).
    public static func appPairs(_ manifest: BundleManifest) -> [ModelChoice] {
        Runtimes.appTargets.flatMap { seq2seqPairs(manifest, target: $0) }.filter { $0.runtime != nil }
    }

    /// What the screen says when a bundle offers the app nothing to run.
    public static func noneMessage(_ manifest: BundleManifest, what: String) -> String {
        let present = Set(manifest.artifacts.filter(\.usable).map(\.target)).sorted()
        let has = present.isEmpty ? "no usable artifact" : "only \(present.joined(separator: ", ")) artifacts"
        return "\(manifest.name) has no \(what) the app runs (\(has)): export it with the coreml or executorch target."
    }

    /// The choice asked for (by id) when it is there, else the first verified one, else the first.
    public static func preferred(_ choices: [ModelChoice], wanted: String?) -> ModelChoice? {
        choices.first { $0.id == wanted } ?? choices.first { $0.verified } ?? choices.first
    }

    /// The picker's line: runtime, variant, precision, and the status when not verified.
    public static func title(_ choice: ModelChoice) -> String {
        "\(choice.runtimeLabel) · \(choice.variant) · \(choice.precision)\(choice.verified ? "" : " (\(choice.status))")"
    }

    /// One line for the screen: runtime, target, precision, status, host p50 beside the device's own p50/p90.
    public static func summary(_ choice: ModelChoice, device: Latency?) -> String {
        let host = choice.hostP50Ms.map { $0.map { String(format: "%.2f", $0) } ?? "–" }.joined(separator: " + ")
        let status = choice.verified ? "verified" : "\(choice.status)\(choice.statusReason.map { " (\($0))" } ?? "")"
        let measured = device.map { String(format: "p50 %.2f / p90 %.2f ms (%ld runs)", $0.p50, $0.p90, $0.count) } ?? "not measured yet"
        return "\(choice.runtimeLabel) · \(choice.target) \(choice.variant) · \(choice.precision) · \(status)\nhost p50 \(host) ms · this device \(measured)"
    }

    static func verifiedFirst(_ choices: [ModelChoice]) -> [ModelChoice] {
        choices.filter(\.verified) + choices.filter { !$0.verified }
    }
}
