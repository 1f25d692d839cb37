import Foundation

/// One model the user can pick: a classifier artifact, or the encoder and decoder of one
/// variant taken together (the SDK verifies a pair as a unit; a mix of variants was never checked).
public struct ModelChoice: Equatable, Sendable, Identifiable {
    public let variant: String
    /// One artifact, or the encoder then the decoder.
    public let artifacts: [Artifact]

    public var id: String { variant }
    public var target: String { artifacts.first?.target ?? "" }
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

    /// The variant asked for when it is there, else the first verified one, else the first.
    public static func preferred(_ choices: [ModelChoice], wanted: String?) -> ModelChoice? {
        choices.first { $0.variant == wanted } ?? choices.first { $0.verified } ?? choices.first
    }

    /// One line for the screen: target, precision, status, host p50 beside the device's own p50/p90.
    public static func summary(_ choice: ModelChoice, device: Latency?) -> String {
        let host = choice.hostP50Ms.map { $0.map { String(format: "%.2f", $0) } ?? "–" }.joined(separator: " + ")
        let status = choice.verified ? "verified" : "\(choice.status)\(choice.statusReason.map { " (\($0))" } ?? "")"
        let measured = device.map { String(format: "p50 %.2f / p90 %.2f ms (%ld runs)", $0.p50, $0.p90, $0.count) } ?? "not measured yet"
        return "\(choice.target) \(choice.variant) · \(choice.precision) · \(status)\nhost p50 \(host) ms · this device \(measured)"
    }

    static func verifiedFirst(_ choices: [ModelChoice]) -> [ModelChoice] {
        choices.filter(\.verified) + choices.filter { !$0.verified }
    }
}
