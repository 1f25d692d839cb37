import Foundation

/// mobilekit's verification rule (mobilekit/verify/verdict.py, `mobilekit.verdict/1`) for
/// device-side golden checks: per output over all samples, the centred SNR in dB (the power of
/// the reference's input-dependent part over the error's), the worst sample's cosine, max/mean
/// abs error; top-1 agreement of a classifier output on decisive samples (near-ties in the
/// reference apart); thresholds per precision class; NaN or inf anywhere fails.
public enum Verdict {
    public static let ruleName = "mobilekit.verdict/1"
    public static let snrCapDb = 200.0

    public struct Rule: Equatable, Sendable {
        public var minSnrDb: Double?
        public var minCosine: Double?
        public var minTop1Agreement: Double?
        public var tieMargin: Double
        public var maxAbs: Double?
        public var meanAbs: Double?

        public init(minSnrDb: Double? = nil, minCosine: Double? = nil, minTop1Agreement: Double? = nil, tieMargin: Double = 0,
                    maxAbs: Double? = nil, meanAbs: Double? = nil) {
            self.minSnrDb = minSnrDb
            self.minCosine = minCosine
            self.minTop1Agreement = minTop1Agreement
            self.tieMargin = tieMargin
            self.maxAbs = maxAbs
            self.meanAbs = meanAbs
        }
    }

    /// verdict.RULES.
    public static let rules: [String: Rule] = [
        "fp32": Rule(minSnrDb: 60, minCosine: 0.99999, minTop1Agreement: 1.0, tieMargin: 1e-3),
        "fp16": Rule(minSnrDb: 30, minCosine: 0.999, minTop1Agreement: 1.0, tieMargin: 2e-2),
        "int8": Rule(minSnrDb: 12, minCosine: 0.97, minTop1Agreement: 0.9, tieMargin: 5e-2),
    ]

    /// fp32 / fp16 / int8 for any precision name a target reports (int4, lut6, fp16-sparse, …).
    public static func precisionClass(_ precision: String) -> String {
        if rules[precision] != nil { return precision }
        if precision.contains("int") || precision.contains("lut") || precision.contains("palett") { return "int8" }
        if precision.contains("16") { return "fp16" }
        return "fp32"
    }

    public static func rule(for precision: String) -> Rule {
        rules[precisionClass(precision)]!
    }

    /// One output's figures; `reference` and `got` are one row of values per sample.
    public struct OutputFigures: Equatable, Sendable {
        public var finite: Bool
        public var maxAbs: Double
        public var meanAbs: Double
        public var relMaxAbs: Double
        public var cosine: Double
        public var snrDb: Double
    }

    public static func figures(reference: [[Double]], got: [[Double]]) -> OutputFigures {
        let ref = reference.flatMap { $0 }
        let out = got.flatMap { $0 }
        guard out.allSatisfy(\.isFinite), out.count == ref.count else {
            return OutputFigures(finite: false, maxAbs: .nan, meanAbs: .nan, relMaxAbs: .nan, cosine: .nan, snrDb: .nan)
        }
        let err = zip(out, ref).map { $0 - $1 }
        let maxAbs = err.map { abs($0) }.max() ?? 0
        let meanAbs = err.isEmpty ? 0 : err.reduce(0) { $0 + abs($1) } / Double(err.count)
        let scale = ref.map { abs($0) }.max() ?? 0
        let relMaxAbs = scale > 0 ? maxAbs / scale : (err.contains { $0 != 0 } ? .infinity : 0)
        // centred over samples (with one sample: the raw reference)
        var signal = 0.0
        if reference.count > 1, let width = reference.first?.count {
            var mean = [Double](repeating: 0, count: width)
            for row in reference { for (j, v) in row.enumerated() { mean[j] += v } }
            mean = mean.map { $0 / Double(reference.count) }
            for row in reference { for (j, v) in row.enumerated() { signal += (v - mean[j]) * (v - mean[j]) } }
        } else {
            signal = ref.reduce(0) { $0 + $1 * $1 }
        }
        signal /= Double(max(ref.count, 1))
        let noise = err.reduce(0) { $0 + $1 * $1 } / Double(max(err.count, 1))
        let cosines = zip(reference, got).map { cosine($0, $1) }
        return OutputFigures(finite: true, maxAbs: maxAbs, meanAbs: meanAbs, relMaxAbs: relMaxAbs,
                             cosine: cosines.min() ?? 1, snrDb: snrDb(signal: signal, noise: noise))
    }

    static func snrDb(signal: Double, noise: Double) -> Double {
        if noise == 0 { return snrCapDb }
        if signal == 0 { return -snrCapDb }
        return min(snrCapDb, 10 * log10(signal / noise))
    }

    static func cosine(_ a: [Double], _ b: [Double]) -> Double {
        let na = sqrt(a.reduce(0) { $0 + $1 * $1 })
        let nb = sqrt(b.reduce(0) { $0 + $1 * $1 })
        if na == 0 && nb == 0 { return 1 }
        if na == 0 || nb == 0 { return 0 }
        return zip(a, b).reduce(0) { $0 + $1.0 * $1.1 } / (na * nb)
    }

    /// Top-1 agreement of a classifier output, samples whose reference top-1/top-2 gap is at
    /// most `tieMargin` × that sample's logit spread (population std) counted as ties.
    public struct Agreement: Equatable, Sendable {
        public var top1Agreement: Double
        public var decisiveSamples: Int
        public var top1AgreementDecisive: Double?
        public var ties: Int
        public var flippedSamples: [Int]
    }

    public static func agreement(reference: [[Double]], got: [[Double]], tieMargin: Double) -> Agreement {
        var agree = 0
        var decisive = 0
        var decisiveAgree = 0
        var ties = 0
        var flips: [Int] = []
        for (i, (r, g)) in zip(reference, got).enumerated() {
            let same = argmax(r) == argmax(g)
            if same { agree += 1 }
            let sorted = r.sorted()
            let gap = sorted.count > 1 ? sorted[sorted.count - 1] - sorted[sorted.count - 2] : 0
            let mean = r.reduce(0, +) / Double(max(r.count, 1))
            let spread = sqrt(r.reduce(0) { $0 + ($1 - mean) * ($1 - mean) } / Double(max(r.count, 1)))
            if gap <= tieMargin * (spread > 0 ? spread : 1) {
                ties += 1
            } else {
                decisive += 1
                if same { decisiveAgree += 1 } else { flips.append(i) }
            }
        }
        let n = min(reference.count, got.count)
        return Agreement(top1Agreement: n > 0 ? Double(agree) / Double(n) : 0, decisiveSamples: decisive,
                         top1AgreementDecisive: decisive > 0 ? Double(decisiveAgree) / Double(decisive) : nil,
                         ties: ties, flippedSamples: flips)
    }

    /// numpy's argmax: the first index of the maximum.
    static func argmax(_ values: [Double]) -> Int {
        var best = 0
        for (i, v) in values.enumerated() where v > values[best] { best = i }
        return best
    }

    /// verdict.failures: one line per broken limit; empty when the artifact passes. Any
    /// non-finite output fails whatever the limits.
    public static func failures(_ outputs: [(name: String, figures: OutputFigures)], agreement: Agreement?, rule: Rule) -> [String] {
        let broken = outputs.filter { !$0.figures.finite }.map { "output \($0.name) is not finite" }
        if !broken.isEmpty { return broken }
        var lines: [String] = []
        // `!(x >= limit)`: NaN never passes
        if let limit = rule.minSnrDb, let worst = outputs.min(by: { $0.figures.snrDb < $1.figures.snrDb }), !(worst.figures.snrDb >= limit) {
            lines.append("output \(worst.name): SNR \(String(format: "%.1f", worst.figures.snrDb)) dB < \(limit) dB")
        }
        if let limit = rule.minCosine, let worst = outputs.min(by: { $0.figures.cosine < $1.figures.cosine }), !(worst.figures.cosine >= limit) {
            lines.append("output \(worst.name): cosine similarity \(String(format: "%.6f", worst.figures.cosine)) < \(limit)")
        }
        if let limit = rule.maxAbs, let worst = outputs.max(by: { $0.figures.maxAbs < $1.figures.maxAbs }), !(worst.figures.maxAbs <= limit) {
            lines.append("output \(worst.name): max abs error \(worst.figures.maxAbs) > tolerance \(limit)")
        }
        if let limit = rule.meanAbs, let worst = outputs.max(by: { $0.figures.meanAbs < $1.figures.meanAbs }), !(worst.figures.meanAbs <= limit) {
            lines.append("output \(worst.name): mean abs error \(worst.figures.meanAbs) > tolerance \(limit)")
        }
        if let limit = rule.minTop1Agreement, let decisive = agreement?.top1AgreementDecisive, decisive < limit - 1e-12 {
            lines.append("top-1 agreement \(String(format: "%.3f", decisive)) on \(agreement?.decisiveSamples ?? 0) decisive samples < \(limit)")
        }
        return lines
    }

    /// Judges outputs (by name: reference rows, artifact rows) of an artifact of `precision`.
    public static func judge(_ outputs: [(name: String, reference: [[Double]], got: [[Double]])], classifierOutput: String? = nil,
                             precision: String) -> [String] {
        let limits = Self.rule(for: precision)
        let figured = outputs.map { (name: $0.name, figures: Self.figures(reference: $0.reference, got: $0.got)) }
        var agreed: Agreement?
        if let name = classifierOutput, let o = outputs.first(where: { $0.name == name }),
           figured.first(where: { $0.name == name })?.figures.finite == true {
            agreed = Self.agreement(reference: o.reference, got: o.got, tieMargin: limits.tieMargin)
        }
        return Self.failures(figured, agreement: agreed, rule: limits)
    }
}
